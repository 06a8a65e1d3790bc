// Lets a child `node` process run this repository's TypeScript sources without a build:
//   node --import ./test/helpers/ts-loader.mjs some-script.ts
// Each .ts file is transpiled (types dropped, nothing checked: tsc does that) with the typescript
// package the repository already depends on, and the ".js" specifiers the sources use are
// resolved to their ".ts" files. The hooks run in Node's loader thread; the main thread only
// registers them.
import { readFile } from 'node:fs/promises';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    if (
      e?.code === 'ERR_MODULE_NOT_FOUND' &&
      relative &&
      specifier.endsWith('.js') &&
      context.parentURL?.endsWith('.ts')
    ) {
      return next(specifier.slice(0, -3) + '.ts', context);
    }
    throw e;
  }
}

let ts;

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  ts ??= (await import('typescript')).default;
  const fileName = fileURLToPath(url);
  const out = ts.transpileModule(await readFile(fileName, 'utf8'), {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
    },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
