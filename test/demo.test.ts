import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

// The README's quick start runs the demo: it must keep working end to end. It runs from the
// compiled output, as `npm run demo` does (the test command builds first).
const demo = join(import.meta.dirname, '../dist/demo/demo.js');
const dir = mkdtempSync(join(tmpdir(), 'cordon-demo-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it.runIf(existsSync(demo))(
  'runs the demo to the end on the embedded default',
  () => {
    const r = spawnSync(process.execPath, [demo, dir], { encoding: 'utf8', timeout: 180_000 });
    expect(r.status, `${r.stdout.slice(-3000)}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('Done. The workspace is in');
    // The tampered export fails for the tampering, not for a missing key (errors go to stderr).
    expect(r.stderr).toMatch(/verification failed[^\n]*record "[^"]+": content SHA-256 is/);
  },
  200_000,
);
