import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCOPES } from '../../src/core/tokens.js';
import { run } from '../../src/cli/run.js';
import { GATE_POLICY, writePoisonedFeed } from '../../demo/scenario.js';

export const SAMPLE = join(import.meta.dirname, '../../data/spamassassin/sample.jsonl.gz');

export interface ConsoleWorkspace {
  base: string;
  /** The workspace folder (`.cordon`). */
  dir: string;
  /** API tokens by identity: alice, bob and carol steward "spam"; dave audits it. */
  tokens: Record<'alice' | 'bob' | 'carol' | 'dave', string>;
  gatePolicy: string;
}

/**
 * The demo's story up to the point where people take over: "spam" was ingested, scanned,
 * approved, gated and released as version 1 (tagged known-good); a partner feed appended by a bot
 * brought flipped labels and a "cf-promo" trigger in version 2, whose scan against the known-good
 * baseline opened review items (the dataset is high-impact). Everything runs through the CLI in
 * process, as a user would.
 */
export async function consoleWorkspace(): Promise<ConsoleWorkspace> {
  const base = mkdtempSync(join(tmpdir(), 'cordon-console-'));
  const cordon = async (args: string[], env: Record<string, string> = {}): Promise<string> => {
    let out = '';
    let err = '';
    const status = await run(args, {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env: { ...process.env, CORDON_TOKEN: '', ...env },
      cwd: base,
      interactive: false,
    });
    if (status > 1) throw new Error(`cordon ${args.join(' ')} exited ${status}: ${err}`);
    return out;
  };
  await cordon(['init', '.cordon', '--identity', 'admin']);
  for (const who of ['alice', 'bob', 'carol', 'dave']) await cordon(['identity', 'add', who]);
  await cordon(['identity', 'add', 'feed-bot', '--service', '--owner', 'carol']);
  for (const [who, role, dataset] of [
    ['alice', 'steward', 'spam'],
    ['bob', 'steward', 'spam'],
    ['carol', 'contributor', '*'],
    ['carol', 'steward', 'spam'],
    ['dave', 'auditor', 'spam'],
    ['feed-bot', 'contributor', 'spam'],
  ] as const)
    await cordon(['identity', 'grant', who, role, '--dataset', dataset]);
  const token = async (who: string, scopes: readonly string[]): Promise<string> =>
    (
      JSON.parse(
        await cordon([
          'token',
          'create',
          who,
          ...scopes.flatMap((s) => ['--scope', s]),
          '--expires',
          '7d',
          '--json',
        ]),
      ) as { token: string }
    ).token;

  await cordon([
    'ingest',
    'spam',
    SAMPLE,
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
  await cordon(['scan', 'spam@1', '--as', 'alice']);
  for (const who of ['alice', 'bob']) await cordon(['approve', 'spam@1', '--as', who]);
  await cordon(['gate', 'spam@1', '--policy', 'gate.yaml', '--as', 'alice']);
  await cordon(['release', 'spam@1', '--as', 'alice']);
  await cordon(['tag', 'spam@1', 'known-good']);

  writePoisonedFeed(SAMPLE, join(base, 'partner-feed.jsonl'));
  const feed = await token('feed-bot', ['datasets:write']);
  await cordon(
    ['ingest', 'spam', 'partner-feed.jsonl', '--append', '-m', 'partner feed, week 47'],
    {
      CORDON_TOKEN: feed,
    },
  );
  await cordon(['scan', 'spam@2', '--baseline', 'spam@known-good', '--as', 'alice']);

  const all = SCOPES.filter((s) => s !== 'identities:admin' && s !== 'policies:admin');
  return {
    base,
    dir: join(base, '.cordon'),
    tokens: {
      alice: await token('alice', all),
      bob: await token('bob', all),
      carol: await token('carol', all),
      dave: await token('dave', SCOPES),
    },
    gatePolicy: GATE_POLICY,
  };
}
