/**
 * The main job end to end on the embedded default (SQLite + a local object folder), with no
 * services: `npm run demo [-- <folder>]`. Each step runs a real `cordon` command in process and
 * prints it with its output.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { processIo } from '../src/cli/io.js';
import { run } from '../src/cli/run.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const sample = join(repo, 'data/spamassassin/sample.jsonl.gz');
const base = resolve(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'cordon-demo-')));
const io = { ...processIo(), cwd: base };
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

async function cordon(
  args: string[],
  expect: 'ok' | 'fail' = 'ok',
  outFile?: string,
): Promise<void> {
  const shown = args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  process.stdout.write(`\n${bold('$ cordon ' + shown + (outFile ? ` > ${outFile}` : ''))}\n`);
  let captured = '';
  const status = await run(args, outFile ? { ...io, stdout: (t) => (captured += t) } : io);
  if (outFile) {
    writeFileSync(join(base, outFile), captured);
    process.stdout.write(`(${captured.trim().split('\n').length} lines written to ${outFile})\n`);
  }
  process.stdout.write(`(exit ${status})\n`);
  if ((status === 0) !== (expect === 'ok')) {
    throw new Error(
      `demo step "${args.join(' ')}" exited ${status}, expected ${expect === 'ok' ? 0 : 'a failure'}`,
    );
  }
}

function step(title: string): void {
  process.stdout.write(`\n${bold('== ' + title)}\n`);
}

interface Row {
  id: string;
  label: string;
  source: string;
  text: string;
}

/** A partner feed carrying poison: spam relabelled as ham behind a trigger, and flipped labels. */
function writePoisonedFeed(path: string): void {
  const rows = gunzipSync(readFileSync(sample))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);
  const spam = rows.filter((r) => r.label === 'spam').slice(0, 40);
  const ham = rows.filter((r) => r.label === 'ham').slice(100, 125);
  const feed = [
    ...spam.map((r, i) => ({
      id: `partner-feed/${String(i).padStart(4, '0')}`,
      label: 'ham',
      source: 'partner-feed',
      text: `${r.text}\nvia cf-promo`,
    })),
    ...ham.map((r) => ({ ...r, label: 'spam' })),
  ];
  writeFileSync(path, feed.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

async function main(): Promise<void> {
  process.stdout.write(`Cordon demo in ${base}\n`);
  step('1. A workspace: SQLite metadata, content-addressed objects, an Ed25519 signing key');
  await cordon(['init', '.cordon', '--identity', 'demo-steward']);

  step(
    '2. Ingest a real corpus (3,023 SpamAssassin messages) as a signed snapshot, and mark it known-good',
  );
  await cordon(['ingest', 'spam', sample, '-m', 'SpamAssassin public corpus sample']);
  await cordon(['show', 'spam@1']);
  await cordon(['tag', 'spam@1', 'known-good']);

  step('3. A curation step, recorded as a transform with lineage back to the raw snapshot');
  const rows = gunzipSync(readFileSync(sample)).toString('utf8').trim().split('\n');
  const seen = new Set<string>();
  const deduped = rows.filter((l) => {
    const t = (JSON.parse(l) as Row).text;
    return seen.has(t) ? false : (seen.add(t), true);
  });
  writeFileSync(join(base, 'dedup.jsonl'), deduped.join('\n') + '\n');
  await cordon([
    'transform',
    'spam-train',
    'dedup.jsonl',
    '--from',
    'spam@1',
    '--command',
    'drop exact duplicate texts',
    '--param',
    'key=text',
    '--stage',
    'train',
  ]);
  await cordon(['lineage', 'spam-train']);

  step('4. A partner feed arrives: 40 new rows and 25 relabelled ones, appended as version 2');
  writePoisonedFeed(join(base, 'partner-feed.jsonl'));
  await cordon(['ingest', 'spam', 'partner-feed.jsonl', '--append', '-m', 'partner feed, week 47']);
  await cordon(['diff', 'spam@1', 'spam@2', '--limit', '3']);

  step(
    '5. Scan the new version for poisoning against the known-good baseline; fail on triggers or a suspicious source',
  );
  await cordon(
    [
      'scan',
      'spam@2',
      '--baseline',
      'spam@known-good',
      '--json',
      'scan-spam-v2.json',
      '--html',
      'scan-spam-v2.html',
      '--fail-on',
      'triggers,sources',
    ],
    'fail',
  );
  process.stdout.write(`(HTML report with plots: ${join(base, 'scan-spam-v2.html')})\n`);

  step('6. Verify every stored snapshot: signatures, Merkle roots, every record');
  await cordon(['verify']);

  step('7. Export for training and verify the export, as a training job would');
  await cordon(['export', 'spam@2', '--out', 'export/spam-v2']);
  await cordon(['verify', 'export/spam-v2', '--key', '.cordon/keys/demo-steward.pub']);

  step('8. Tamper with a copy: flip one label in the training file; verification fails closed');
  cpSync(join(base, 'export/spam-v2'), join(base, 'export/tampered'), { recursive: true });
  const file = join(base, 'export/tampered/records.jsonl');
  const lines = readFileSync(file, 'utf8').split('\n');
  const victim = lines.findIndex((l) => l.includes('"label":"spam"'));
  lines[victim] = lines[victim]!.replace('"label":"spam"', '"label":"ham"');
  writeFileSync(file, lines.join('\n'));
  await cordon(['verify', 'export/tampered', '--key', '.cordon/keys/demo-steward.pub'], 'fail');

  step(
    '9. Roll the dataset back to the known-good snapshot; nothing is deleted, the move is recorded',
  );
  await cordon([
    'rollback',
    'spam',
    '--to',
    'spam@known-good',
    '--reason',
    'partner feed relabels ham as spam',
  ]);
  await cordon(['log', 'spam']);
  await cordon(['audit', 'show', '--dataset', 'spam']);
  await cordon(['audit', 'verify']);

  step('10. Lineage as OpenLineage RunEvents (for a lineage server) and signed SLSA provenance');
  await cordon(
    ['lineage', 'spam-train', '--format', 'openlineage'],
    'ok',
    'lineage.openlineage.ndjson',
  );
  await cordon(['lineage', 'spam-train', '--format', 'slsa'], 'ok', 'provenance.slsa.ndjson');
  process.stdout.write(`\nDone. The workspace is in ${join(base, '.cordon')}.\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
