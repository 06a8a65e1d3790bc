import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { openFor } from '../context.js';
import type { Io } from '../io.js';

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CordonError('USAGE', `${name} must be a positive integer, got "${value}"`);
  return n;
}

/**
 * `cordon worker`: serves distributed scans (`cordon scan-distributed`) of this workspace from
 * the Redis at $CORDON_REDIS_URL until SIGTERM or SIGINT. The first signal lets running jobs
 * finish; a second abandons them (another worker takes them over once their lock expires).
 */
export function registerWorker(program: Command, io: Io): void {
  program
    .command('worker')
    .description(
      'process distributed scan jobs of this workspace from Redis ($CORDON_REDIS_URL) until stopped',
    )
    .option('--concurrency <n>', 'jobs at once, each in its own thread', '1')
    .option(
      '--redis-url <url>',
      'Redis to use (default: $CORDON_REDIS_URL or redis://127.0.0.1:6379)',
    )
    .option('--prefix <prefix>', 'BullMQ key prefix shared with the coordinator', 'cordon')
    .option(
      '--lock-duration <ms>',
      'how long a job stays locked without renewal: how soon a dead worker’s job is retried',
      '30000',
    )
    .option('--stalled-interval <ms>', 'how often to look for jobs of dead workers', '30000')
    .action(
      async (
        flags: {
          concurrency: string;
          redisUrl?: string;
          prefix: string;
          lockDuration: string;
          stalledInterval: string;
        },
        cmd: Command,
      ) => {
        const [{ startScanWorker }, { DEFAULT_REDIS_URL }, { redactUrl }] = await Promise.all([
          import('../../engine/scan/distributed/worker.js'),
          import('../../engine/scan/distributed/protocol.js'),
          import('../../engine/scan/distributed/redis.js'),
        ]);
        const redisUrl = flags.redisUrl ?? io.env['CORDON_REDIS_URL'] ?? DEFAULT_REDIS_URL;
        const concurrency = positiveInt('--concurrency', flags.concurrency);
        const lockDurationMs = positiveInt('--lock-duration', flags.lockDuration);
        const stalledIntervalMs = positiveInt('--stalled-interval', flags.stalledInterval);
        const ws = await openFor(cmd, io);
        const log = (line: string): void => io.stdout(`${new Date().toISOString()} ${line}\n`);
        let handle: Awaited<ReturnType<typeof startScanWorker>> | undefined;
        let signals = 0;
        const onSignal = (sig: NodeJS.Signals): void => {
          signals++;
          const force = signals > 1;
          log(
            force
              ? `${sig}: stopping now; running jobs go back to the queue when their lock expires`
              : `${sig}: finishing running jobs, then stopping (signal again to stop at once)`,
          );
          void handle?.close(force);
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
        try {
          handle = await startScanWorker({
            redisUrl,
            workspace: ws,
            concurrency,
            prefix: flags.prefix,
            lockDurationMs,
            stalledIntervalMs,
            onEvent: (e) => {
              if (e.type === 'ready')
                log(`ready: ${e.message ?? ''} on ${redactUrl(redisUrl)}, workspace ${ws.dir}`);
              else if (e.type === 'active') log(`started ${e.job ?? ''}`);
              else if (e.type === 'completed') log(`finished ${e.job ?? ''}`);
              else if (e.type === 'failed') log(`failed ${e.job ?? ''}: ${e.message ?? ''}`);
              else if (e.type === 'error') io.stderr(`cordon worker: ${e.message ?? ''}\n`);
              else log('stopped');
            },
          });
          if (!handle.threaded)
            log('compute threads unavailable (no compiled output): jobs run in this thread');
          if (signals > 0) void handle.close(signals > 1);
          await handle.closed;
        } finally {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          await ws.close();
        }
      },
    );
}
