import js from '@eslint/js';
import jsxA11y from 'eslint-plugin-jsx-a11y';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

// Layering: core is pure (no fs, net, db); store may not reach up into engine or cli;
// engine may not import the cli. The compiler cannot see this, so the linter enforces it.
const nodeIo = [
  'node:fs',
  'node:fs/promises',
  'node:net',
  'node:http',
  'node:child_process',
  'node:worker_threads',
  'node:os',
  'node:path',
];
const restrict = (patterns, paths = []) => ({
  'no-restricted-imports': [
    'error',
    { patterns, paths: paths.map((name) => ({ name, message: 'core is pure: no I/O' })) },
  ],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web/dist/**', 'bench/out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['src/core/**/*.ts'],
    rules: restrict(
      ['**/store/**', '**/engine/**', '**/cli/**', '**/server/**', 'better-sqlite3', 'kysely'],
      nodeIo,
    ),
  },
  // Tests of the pure core may read fixtures from disk.
  { files: ['src/core/**/*.test.ts'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['src/store/**/*.ts'], rules: restrict(['**/engine/**', '**/cli/**', '**/server/**']) },
  { files: ['src/engine/**/*.ts'], rules: restrict(['**/cli/**', '**/server/**']) },
  // The server is an edge like the CLI: it may use the engine, never the CLI.
  { files: ['src/server/**/*.ts'], rules: restrict(['**/cli/**']) },
  // The web console talks to the server over HTTP only: from the server it may take types.
  {
    files: ['console/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks, 'jsx-a11y': jsxA11y },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      ...jsxA11y.flatConfigs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/**'],
              allowTypeImports: true,
              message: 'the console may import types from the server, never its code',
            },
          ],
        },
      ],
    },
  },
);
