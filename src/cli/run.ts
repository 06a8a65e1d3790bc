import { Command, CommanderError } from 'commander';
import { CordonError } from '../core/errors.js';
import { registerApprove } from './commands/approve.js';
import { registerAudit } from './commands/audit.js';
import { registerDiff } from './commands/diff.js';
import { registerExport } from './commands/export.js';
import { registerGovern } from './commands/govern.js';
import { registerHistory } from './commands/history.js';
import { registerIdentity } from './commands/identity.js';
import { registerIngest } from './commands/ingest.js';
import { registerInit } from './commands/init.js';
import { registerLineage } from './commands/lineage.js';
import { registerMerge } from './commands/merge.js';
import { registerQuarantine } from './commands/quarantine.js';
import { registerReview } from './commands/review.js';
import { registerScan } from './commands/scan.js';
import { registerScanDistributed } from './commands/scan-distributed.js';
import { registerServe } from './commands/serve.js';
import { registerWorker } from './commands/worker.js';
import { registerVerify } from './commands/verify.js';
import type { Io } from './io.js';

export const EXIT = { ok: 0, failed: 1, error: 2, refused: 3 } as const;

const FAILED_CHECK = new Set(['VERIFY_FAILED', 'FINDINGS', 'GATE_FAILED']);
const REFUSED = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'QUARANTINED', 'APPROVAL_INVALID']);

/**
 * Exit status for an error: 1 when a check failed (fail closed), 3 when the caller was refused
 * (authentication, authorization, quarantine, an invalid approval), 2 when the command could not
 * run.
 */
export function exitCodeOf(e: unknown): number {
  if (!(e instanceof CordonError)) return EXIT.error;
  if (FAILED_CHECK.has(e.code)) return EXIT.failed;
  if (REFUSED.has(e.code)) return EXIT.refused;
  return EXIT.error;
}

/** Runs the CLI in process: parses `argv` (without node and script), returns the exit status. */
export async function run(argv: string[], io: Io): Promise<number> {
  const program = new Command('cordon')
    .description('Versioned, signed, verifiable training corpora.')
    .option(
      '-w, --workspace <dir>',
      'workspace folder (default: $CORDON_WORKSPACE or the nearest .cordon)',
    )
    .option(
      '--as <identity>',
      'act as this local identity (its key must be in the workspace); $CORDON_TOKEN takes precedence',
    )
    .option(
      '--server <url>',
      'work against a Cordon server (cordon serve) instead of a local workspace, with the API token in $CORDON_TOKEN (default: $CORDON_SERVER)',
    )
    .option('--json', 'print machine-readable JSON')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const register of [
    registerInit,
    registerIngest,
    registerMerge,
    registerHistory,
    registerDiff,
    registerLineage,
    registerExport,
    registerVerify,
    registerScan,
    registerReview,
    registerApprove,
    registerQuarantine,
    registerGovern,
    registerIdentity,
    registerAudit,
    registerServe,
    registerScanDistributed,
    registerWorker,
  ]) {
    register(program, io);
  }
  // --json, --as and --server work before or after the command name; a command may give --json a
  // value of its own. Added to every command that runs an action (sub-commands included).
  const leaves = (c: Command): Command[] => (c.commands.length ? c.commands.flatMap(leaves) : [c]);
  for (const command of program.commands.flatMap(leaves)) {
    if (!command.options.some((o) => o.long === '--json'))
      command.option('--json', 'print machine-readable JSON');
    command.option('--as <identity>', 'act as this local identity');
    command.option('--server <url>', 'work against this Cordon server');
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.ok : EXIT.error;
    }
    if (e instanceof CordonError) {
      const what =
        e.code === 'VERIFY_FAILED'
          ? 'verification failed'
          : e.code === 'FINDINGS'
            ? 'scan failed'
            : e.code === 'GATE_FAILED'
              ? 'gate failed'
              : REFUSED.has(e.code)
                ? 'refused'
                : 'error';
      io.stderr(`cordon: ${what} [${e.code}]: ${e.message}\n`);
      return exitCodeOf(e);
    }
    io.stderr(
      `cordon: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return EXIT.error;
  }
}
