// A child process of the concurrency tests: opens the store named on the command line, runs a
// workload against it, and prints the result as JSON. Run it with the TypeScript loader:
//   node --import ./test/helpers/ts-loader.mjs test/store/store-worker.ts <target> <writer> <n> <mode>
import { openTarget, runWorkload, type StoreTarget, type WorkloadMode } from './workload.js';

const [targetJson, writer, count, mode] = process.argv.slice(2);
if (targetJson === undefined || writer === undefined || count === undefined || mode === undefined)
  throw new Error('usage: store-worker.ts <target json> <writer> <n> <mixed|commit>');

const store = await openTarget(JSON.parse(targetJson) as StoreTarget);
try {
  const result = await runWorkload(store, writer, Number(count), mode as WorkloadMode);
  process.stdout.write(JSON.stringify(result));
} finally {
  await store.close();
}
