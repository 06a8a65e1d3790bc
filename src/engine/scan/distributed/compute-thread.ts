/**
 * A compute thread of a scan worker: runs tasks (tasks.ts) one at a time, posting progress and
 * the result (typed arrays moved, not copied). Loaded only from compiled output.
 */
import { parentPort } from 'node:worker_threads';
import { runTask, transferables, type Task } from './tasks.js';

interface Request {
  id: number;
  task: Task;
}

const port = parentPort;
if (!port) throw new Error('compute-thread must run in a worker thread');
port.on('message', (msg: Request) => {
  runTask(msg.task, (fraction) => port.postMessage({ id: msg.id, progress: fraction })).then(
    (result) => port.postMessage({ id: msg.id, result }, transferables(result)),
    (e: unknown) =>
      port.postMessage({
        id: msg.id,
        error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      }),
  );
});
