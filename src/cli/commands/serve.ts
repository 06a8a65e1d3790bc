import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { backendsFromEnv } from '../../engine/backends.js';
import { locateWorkspace } from '../../engine/workspace.js';
import { formatSize, parseSize } from '../../server/body.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { globals } from '../context.js';
import type { Io } from '../io.js';

interface ServeFlags {
  host: string;
  port: string;
  uploadLimit: string;
  logRequests?: boolean;
}

/** Resolves when the process is asked to stop (SIGINT or SIGTERM). */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Runs the server until `stop` resolves, then closes it and the workspace. Split from the command
 * so a test can stop it without sending the test runner a signal.
 */
export async function runServe(
  io: Io,
  options: {
    workspace?: string;
    host: string;
    port: number;
    uploadLimit: number;
    logRequests: boolean;
  },
  stop?: Promise<unknown>,
  started?: (server: RunningServer) => void,
): Promise<void> {
  const dir = locateWorkspace(options.workspace, io.env, io.cwd);
  const server = await startServer({
    workspaceDir: dir,
    // The same environment as every other command: CORDON_DATABASE_URL, CORDON_OBJECT_URL.
    backends: backendsFromEnv(io.env),
    host: options.host,
    port: options.port,
    uploadLimit: options.uploadLimit,
    logRequests: options.logRequests,
    log: (line) => io.stderr(line + '\n'),
  });
  io.stdout(
    `Cordon API on ${server.url} (workspace ${dir}, uploads up to ${formatSize(options.uploadLimit)}); OpenAPI at ${server.url}/openapi.json\n`,
  );
  started?.(server);
  // Signal handlers are installed only once the server runs: until then Ctrl-C stops the process.
  await (stop ?? stopSignal());
  io.stderr('cordon serve: stopping\n');
  await server.close();
}

export function registerServe(program: Command, io: Io): void {
  program
    .command('serve')
    .description(
      'serve the REST API over this workspace (every request authenticates with a Cordon API token)',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '8787')
    .option('--upload-limit <size>', 'largest upload, e.g. 1GiB or 500MB', '1GiB')
    .option('--log-requests', 'log one line per request to stderr')
    .action(async (flags: ServeFlags, cmd: Command) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new CordonError('USAGE', `--port must be a whole number from 0 to 65535`);
      const workspace = globals(cmd).workspace;
      await runServe(io, {
        ...(workspace !== undefined ? { workspace } : {}),
        host: flags.host,
        port,
        uploadLimit: parseSize(flags.uploadLimit),
        logRequests: Boolean(flags.logRequests),
      });
    });
}
