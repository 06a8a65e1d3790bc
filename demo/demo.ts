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
import { GATE_POLICY, writePoisonedFeed, type Row } from './scenario.js';
import { run } from '../src/cli/run.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const sample = join(repo, 'data/spamassassin/sample.jsonl.gz');
const base = resolve(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'cordon-demo-')));
const io = { ...processIo(), cwd: base };
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

/**
 * Runs one command and shows it. `token` runs it as the holder of an API token (as a pipeline
 * would, through $CORDON_TOKEN); `quiet` captures the output and returns it instead of printing.
 */
async function cordon(
  args: string[],
  expect: 'ok' | 'fail' = 'ok',
  outFile?: string,
  options: { token?: string; quiet?: boolean } = {},
): Promise<string> {
  const shown = args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  const prefix = options.token ? 'CORDON_TOKEN=… ' : '';
  process.stdout.write(
    `\n${bold('$ ' + prefix + 'cordon ' + shown + (outFile ? ` > ${outFile}` : ''))}\n`,
  );
  let captured = '';
  const capture = outFile !== undefined || options.quiet === true;
  const env = options.token ? { ...io.env, CORDON_TOKEN: options.token } : io.env;
  const status = await run(args, {
    ...io,
    env,
    ...(capture ? { stdout: (t: string) => (captured += t) } : {}),
  });
  if (outFile) {
    writeFileSync(join(base, outFile), captured);
    process.stdout.write(`(${captured.trim().split('\n').length} lines written to ${outFile})\n`);
  } else if (options.quiet) {
    process.stdout.write(`(${captured.trim().split('\n').length} lines of output captured)\n`);
  }
  process.stdout.write(`(exit ${status})\n`);
  if ((status === 0) !== (expect === 'ok')) {
    throw new Error(
      `demo step "${args.join(' ')}" exited ${status}, expected ${expect === 'ok' ? 0 : 'a failure'}`,
    );
  }
  return captured;
}

function step(title: string): void {
  process.stdout.write(`\n${bold('== ' + title)}\n`);
}

/**
 * The keys a training job trusts for an export: carol signs the snapshots she ingests and alice
 * signs the gate verdicts. A verifier elsewhere would hold these public keys, not the workspace.
 */
const TRUSTED = ['--key', '.cordon/keys/carol.pub', '--key', '.cordon/keys/alice.pub'];

async function main(): Promise<void> {
  process.stdout.write(`Cordon demo in ${base}\n`);
  step('1. A workspace: SQLite metadata, content-addressed objects, Ed25519 keys, Cedar policies');
  await cordon(['init', '.cordon', '--identity', 'admin']);

  step('2. People and bots: two stewards, a data engineer, an ingest bot and a training bot');
  for (const who of ['alice', 'bob', 'carol']) await cordon(['identity', 'add', who]);
  await cordon(['identity', 'add', 'feed-bot', '--service', '--owner', 'carol']);
  await cordon(['identity', 'add', 'train-bot', '--service', '--owner', 'carol']);
  // carol may create datasets (contributor everywhere); the rest hold roles on "spam" only.
  for (const [who, role, dataset] of [
    ['alice', 'steward', 'spam'],
    ['bob', 'steward', 'spam'],
    ['carol', 'contributor', '*'],
    ['carol', 'steward', 'spam'],
    ['feed-bot', 'contributor', 'spam'],
    ['train-bot', 'trainer', 'spam'],
  ] as const)
    await cordon(['identity', 'grant', who, role, '--dataset', dataset]);
  const tokenOf = async (who: string, scopes: string[]): Promise<string> => {
    const out = await cordon(
      [
        'token',
        'create',
        who,
        ...scopes.flatMap((s) => ['--scope', s]),
        '--expires',
        '30d',
        '--json',
      ],
      'ok',
      undefined,
      { quiet: true },
    );
    return (JSON.parse(out) as { token: string }).token;
  };
  const feedToken = await tokenOf('feed-bot', ['datasets:write']);
  const trainToken = await tokenOf('train-bot', ['snapshots:export']);
  await cordon(['identity', 'list']);

  step('3. Ingest a real corpus (3,023 SpamAssassin messages) as a signed snapshot');
  await cordon([
    'ingest',
    'spam',
    sample,
    '-m',
    'SpamAssassin public corpus sample',
    '--as',
    'carol',
  ]);
  await cordon(['dataset', 'set', 'spam', '--high-impact']);
  for (const source of ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'])
    await cordon(['source', 'spam', source, '--trusted']);
  await cordon(['source', 'spam', 'partner-feed', '--trusted', '--external']);
  writeFileSync(join(base, 'gate.yaml'), GATE_POLICY);

  step('4. Scan, two independent approvals, gate: version 1 becomes known-good and is released');
  await cordon(['scan', 'spam@1', '--as', 'alice'], 'ok', 'scan-spam-v1.txt');
  for (const who of ['alice', 'bob'])
    await cordon(['approve', 'spam@1', '--as', who, '--comment', 'checked the scan report']);
  await cordon(['gate', 'spam@1', '--policy', 'gate.yaml', '--as', 'alice']);
  await cordon(['release', 'spam@1', '--as', 'alice']);
  await cordon(['tag', 'spam@1', 'known-good']);
  await cordon(['export', 'spam@1', '--out', 'export/spam-v1'], 'ok', undefined, {
    token: trainToken,
  });
  await cordon(['verify', 'export/spam-v1', ...TRUSTED]);

  step('5. A curation step, recorded as a transform with lineage back to the raw snapshot');
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

  step('6. The ingest bot appends a partner feed with its token: 40 new rows, 25 relabelled');
  writePoisonedFeed(sample, join(base, 'partner-feed.jsonl'));
  await cordon(
    ['ingest', 'spam', 'partner-feed.jsonl', '--append', '-m', 'partner feed, week 47'],
    'ok',
    undefined,
    {
      token: feedToken,
    },
  );
  await cordon(['diff', 'spam@1', 'spam@2', '--limit', '3']);

  step(
    "7. Separation of duties: the bot's owner may not approve its snapshot; the bot may not export",
  );
  await cordon(['approve', 'spam@2', '--as', 'carol'], 'fail');
  await cordon(['export', 'spam@2', '--out', 'export/spam-v2'], 'fail', undefined, {
    token: feedToken,
  });

  step('8. Scan version 2 against the known-good baseline; high impact, so findings go to review');
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
      '--as',
      'alice',
    ],
    'fail',
  );
  process.stdout.write(`(HTML report with plots: ${join(base, 'scan-spam-v2.html')})\n`);

  step('9. The gate blocks version 2, and training cannot take it');
  await cordon(['gate', 'spam@2', '--policy', 'gate.yaml', '--as', 'alice'], 'fail');
  await cordon(['export', 'spam@2', '--out', 'export/spam-v2'], 'fail', undefined, {
    token: trainToken,
  });

  step('10. Review the queue: the stewards drop what came from the partner feed');
  const items = JSON.parse(
    await cordon(['review', 'list', 'spam@2', '--json'], 'ok', undefined, { quiet: true }),
  ) as { id: string; record_id: string }[];
  const feedRows = items.filter((i) => i.record_id.startsWith('partner-feed/'));
  const others = items.filter((i) => !i.record_id.startsWith('partner-feed/'));
  process.stdout.write(
    `(${items.length} review items: ${feedRows.length} from the partner feed, ${others.length} elsewhere)\n`,
  );
  if (feedRows.length > 0)
    await cordon(
      ['review', 'decide', 'drop', ...feedRows.map((i) => i.id), '--as', 'bob'],
      'ok',
      undefined,
      { quiet: true },
    );
  if (others.length > 0)
    await cordon(
      ['review', 'decide', 'keep', ...others.map((i) => i.id), '--as', 'bob'],
      'ok',
      undefined,
      { quiet: true },
    );
  await cordon(['review', 'apply', 'spam@2', '--as', 'carol']);

  step('11. Quarantine the partner feed: nothing holding its rows may be merged or exported');
  await cordon([
    'quarantine',
    'add',
    'source',
    'partner-feed',
    '--dataset',
    'spam',
    '--reason',
    'trigger "cf" and flipped labels in week 47',
    '--as',
    'alice',
  ]);
  await cordon(['merge', 'spam-all', 'spam@1', 'spam@2', '--as', 'carol'], 'fail');
  step('12. Roll back to known-good anyway: the feed also relabelled existing rows');
  await cordon([
    'rollback',
    'spam',
    '--to',
    'spam@known-good',
    '--reason',
    'partner feed relabels ham as spam',
  ]);
  await cordon(['log', 'spam']);

  step('13. Tamper with an export: flip one label in the training file; verification fails closed');
  cpSync(join(base, 'export/spam-v1'), join(base, 'export/tampered'), { recursive: true });
  const file = join(base, 'export/tampered/records.jsonl');
  const lines = readFileSync(file, 'utf8').split('\n');
  const victim = lines.findIndex((l) => l.includes('"label":"spam"'));
  lines[victim] = lines[victim]!.replace('"label":"spam"', '"label":"ham"');
  writeFileSync(file, lines.join('\n'));
  await cordon(['verify', 'export/tampered', ...TRUSTED], 'fail');

  step('14. The audit log: every change and every refusal, in a signed Merkle log');
  await cordon(['audit', 'show', '--kind', 'authz.deny']);
  await cordon(['audit', 'verify']);
  await cordon(['nhi', 'report']);

  step('15. Lineage as OpenLineage RunEvents (for a lineage server) and signed SLSA provenance');
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
