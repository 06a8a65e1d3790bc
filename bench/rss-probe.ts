/**
 * Preloaded with `node --import` when GNU time is not installed: writes the process's peak
 * resident set size (KiB, all threads) to $CORDON_BENCH_RSS_FILE when it exits.
 */
import { writeFileSync } from 'node:fs';

const file = process.env['CORDON_BENCH_RSS_FILE'];
if (file) {
  process.on('exit', () => {
    writeFileSync(file, String(process.resourceUsage().maxRSS) + '\n');
  });
}
