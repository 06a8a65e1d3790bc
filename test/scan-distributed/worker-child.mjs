// Runs `cordon worker` from the compiled build in a child process, as the CLI would once the
// command is registered in src/cli/run.ts: the same global options (-w, --as) and the same
// registerWorker. Usage: node worker-child.mjs -w <workspace> worker [options]
import process from 'node:process';
import { URL } from 'node:url';
import { Command } from 'commander';

const dist = new URL('../../dist/src/cli/', import.meta.url);
const { registerWorker } = await import(new URL('commands/worker.js', dist).href);
const { processIo } = await import(new URL('io.js', dist).href);

const io = processIo();
const program = new Command('cordon')
  .option('-w, --workspace <dir>', 'workspace folder')
  .option('--as <identity>', 'act as this local identity')
  .enablePositionalOptions()
  .exitOverride();
registerWorker(program, io);
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (e) {
  process.stderr.write(
    `worker-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exitCode = 2;
}
