import { createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteClient } from '../src/cli/remote/client.js';
import { followJob } from '../src/cli/remote/jobs.js';
import { SCOPES } from '../src/core/tokens.js';
import type { JobProgress, JobView } from '../src/server/jobs.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { mailRecords } from './governance/helpers.js';
import { cliEnv, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/workspace.js';
import { mailJsonl } from './server/helpers.js';

/**
 * The CLI against a server (`--server`, $CORDON_SERVER) prints what it prints on a local
 * workspace. Both run against the same workspace, the server in process on a free port and the
 * local commands on its folder, with the same token, so read commands must match byte for byte.
 */

const GATE = 'version: 1\nscan:\n  triggers: forbid\napprovals:\n  min: dataset\n';

let dir: string;
let cleanup: () => void;
let server: RunningServer;
const tokens: Record<string, string> = {};

type Run = (...args: string[]) => Promise<CliResult>;

/** The CLI as `who`, on the workspace folder (local) or through the server (remote). */
function as(who: string): { local: Run; remote: Run } {
  const token = tokens[who]!;
  return {
    local: (...args) => cliEnv(dir, { CORDON_TOKEN: token }, ...args),
    remote: (...args) => cliEnv(dir, { CORDON_TOKEN: token, CORDON_SERVER: server.url }, ...args),
  };
}
const root = () => as('root');

async function ok(run: Run, ...args: string[]): Promise<string> {
  const r = await run(...args);
  expect(r.status, `cordon ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/**
 * Runs a command both ways and expects the same exit status (`status`, 0 unless told), stdout
 * (after `mask`) and stderr.
 */
async function same(
  who: string,
  args: string[],
  expected: { status?: number; mask?: (s: string) => string } = {},
): Promise<CliResult> {
  const mask = expected.mask ?? ((s: string) => s);
  const local = await as(who).local(...args);
  const remote = await as(who).remote(...args);
  const what = `cordon ${args.join(' ')}`;
  expect(local.status, `${what}: ${local.stderr}`).toBe(expected.status ?? 0);
  expect(remote.status, `${what}: status`).toBe(local.status);
  expect(remote.stderr, `${what}: stderr`).toBe(local.stderr);
  expect(mask(remote.stdout), `${what}: stdout`).toBe(mask(local.stdout));
  if (local.status === 0) expect(local.stdout, what).not.toBe('');
  return remote;
}

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  writeFileSync(
    join(dir, 'mail.jsonl'),
    readFileSync(join(import.meta.dirname, 'fixtures/spam-100.jsonl'), 'utf8'),
  );
  writeFileSync(
    join(dir, 'more.jsonl'),
    '{"id":"n1","label":"ham","text":"hello there"}\n{"id":"n2","label":"spam","text":"win cash now"}\n',
  );
  writeFileSync(
    join(dir, 'planted.jsonl'),
    mailRecords(40, { trigger: true })
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  writeFileSync(join(dir, 'gate.yaml'), GATE);
  const setup = (...args: string[]) => cliEnv(dir, {}, ...args);
  for (const args of [
    ['init', '--identity', 'root'],
    ['identity', 'add', 'alice'],
    ['identity', 'add', 'bob'],
    ['identity', 'grant', 'alice', 'steward', '--dataset', 'mail'],
    ['identity', 'grant', 'bob', 'steward', '--dataset', 'mail'],
    ['dataset', 'set', 'mail', '--approvals', '2'],
    ['dataset', 'set', 'planted', '--high-impact', '--review-threshold', '0.5'],
  ])
    expect((await setup(...args)).status, args.join(' ')).toBe(0);
  const scopes = (list: readonly string[]) => list.flatMap((s) => ['--scope', s]);
  const steward = [
    'datasets:read',
    'scans:write',
    'approvals:write',
    'gates:write',
    'quarantine:write',
  ];
  for (const [who, list] of [
    ['root', SCOPES],
    ['alice', steward],
    ['bob', steward],
  ] as const) {
    const r = await setup('--json', 'token', 'create', who, ...scopes(list));
    expect(r.status, r.stderr).toBe(0);
    tokens[who] = (JSON.parse(r.stdout) as { token: string }).token;
  }
  server = await startServer({
    workspaceDir: join(dir, '.cordon'),
    host: '127.0.0.1',
    port: 0,
    log: () => undefined,
  });
});

afterAll(async () => {
  await server?.close();
  cleanup?.();
});

describe('the CLI against a server', () => {
  it('ingests a file as a stream and prints the same "Committed" line', async () => {
    const remote = await ok(root().remote, 'ingest', 'mail', 'mail.jsonl');
    expect(remote).toMatch(
      /^Committed mail@1 \(raw\): 100 records, root [0-9a-f]{12}, snapshot [0-9a-f]{12}, signed by root\n$/,
    );
    // The same file ingested locally into another dataset: only the dataset and the snapshot id
    // (which covers the dataset and the time) differ.
    const local = await ok(root().local, 'ingest', 'copy', 'mail.jsonl');
    const masked = (s: string, name: string) =>
      s.replace(`${name}@`, 'D@').replace(/snapshot [0-9a-f]{12}/, 'snapshot ID');
    expect(masked(remote, 'mail')).toBe(masked(local, 'copy'));

    const appended = JSON.parse(
      await ok(root().remote, '--json', 'ingest', 'mail', 'more.jsonl', '--append'),
    ) as Record<string, unknown>;
    expect(Object.keys(appended)).toEqual([
      'snapshot',
      'dataset',
      'version',
      'stage',
      'root',
      'records',
    ]);
    expect(appended).toMatchObject({ dataset: 'mail', version: 2, stage: 'raw', records: 102 });
  });

  it('follows the ingest job’s progress events to the end', async () => {
    const api = new RemoteClient(server.url, tokens['root']!, 'cordon-cli/batch');
    const job = await api.json<JobView>('POST', '/v1/datasets/big/ingest', {
      query: { filename: 'big.jsonl' },
      body: mailJsonl(20_000),
      contentType: 'application/x-ndjson',
    });
    const seen: JobProgress[] = [];
    const result = (await followJob(api, job, (p) => seen.push(p))) as {
      snapshot: { records: number };
    };
    expect(result.snapshot.records).toBe(20_000);
    const records = seen.map((p) => p.records ?? 0);
    expect(records.length).toBeGreaterThan(1);
    expect([...records].sort((a, b) => a - b)).toEqual(records);
    expect(records.at(-1)).toBe(20_000);
  });

  it('prints byte for byte what the local commands print, as text and as JSON', async () => {
    for (const args of [
      ['datasets'],
      ['log', 'mail'],
      ['show', 'mail@1'],
      ['show', 'mail'],
      ['diff', 'mail@1', 'mail@2'],
      ['diff', 'mail@1', 'mail@2', '--limit', '1'],
      ['lineage', 'mail'],
      ['lineage', 'mail', '--format', 'json'],
      ['lineage', 'mail', '--format', 'slsa'],
      ['status', 'mail@2'],
      ['verify', 'mail@1'],
      ['verify'],
      ['identity', 'list'],
      ['nhi', 'report'],
      ['audit', 'show'],
      ['audit', 'show', '--dataset', 'mail', '--kind', 'snapshot.commit'],
      ['audit', 'verify'],
      ['audit', 'proof', '3'],
      ['tags'],
      ['proof', 'mail@1', 'easy-ham-1/00001'],
      ['dataset', 'show', 'mail'],
      ['policy', 'list'],
    ]) {
      await same('root', args);
      if (!args.includes('--format')) await same('root', ['--json', ...args]);
    }
    // Each run is a use of the token: its last-use time is the one thing that moves.
    const times = (s: string) => s.replace(ISO, 'TIME');
    await same('root', ['token', 'list'], { mask: times });
    await same('root', ['token', 'list', '--json'], { mask: times });
    // OpenLineage events name their producer: here the server rather than the CLI.
    const events = (await ok(root().remote, 'lineage', 'mail', '--format', 'openlineage'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { producer: string });
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map((e) => e.producer))).toEqual(new Set(['https://cordon.dev/api']));
  });

  it('gives the same errors, exit codes and messages', async () => {
    await same('root', ['log', 'nope'], { status: 2 });
    await same('root', ['show', 'mail@9'], { status: 2 });
    await same('root', ['audit', 'proof', 'x'], { status: 2 });
    const missing = await same('root', ['ingest', 'mail', 'missing.jsonl'], { status: 2 });
    expect(missing.stderr).toMatch(/INPUT_NOT_FOUND.*missing\.jsonl/);
  });

  it('scans a stored snapshot on the server and prints the summary of the recorded report', async () => {
    const remote = await as('alice').remote('scan', 'mail@2');
    expect(remote.status, remote.stderr).toBe(0);
    expect(remote.stdout).toMatch(/^Recorded signed scan [0-9a-f]{12} of mail@2 \(report /);
    const local = await as('alice').local('scan', 'mail@2');
    expect(local.status, local.stderr).toBe(0);
    // Scan ids, report digests and timings differ from run to run; the findings do not.
    const mask = (s: string) =>
      s
        .replace(/scan [0-9a-f]{12}/, 'scan ID')
        .replace(/report [0-9a-f]{12}/, 'report ID')
        .replace(/, [\d.]+ s\n/, ', T s\n');
    expect(mask(remote.stdout)).toBe(mask(local.stdout));
  });

  it('fails a gate with exit 1 and refuses what policy forbids with exit 3', async () => {
    const mask = (s: string) => s.replace(/verdict [0-9a-f]{12}/, 'verdict ID');
    const gate = await same('alice', ['gate', 'mail@2', '--policy', 'gate.yaml'], {
      status: 1,
      mask,
    });
    expect(gate.stdout).toMatch(
      /^Gate FAILED for mail@2 \(verdict [0-9a-f]{12}, signed by alice\)/,
    );
    expect(gate.stdout).toMatch(/approvals\s+FAIL/);
    expect(gate.stderr).toContain('cordon: gate failed [GATE_FAILED]: mail@2 failed');

    // root wrote mail@2, so may not approve it; one steward cannot promote alone.
    const self = await same('root', ['approve', 'mail@2'], { status: 3 });
    expect(self.stderr).toContain('no-self-approval');
    const approved = await ok(as('alice').remote, 'approve', 'mail@2', '--comment', 'looked');
    expect(approved).toBe(
      'Approved mail@2 as alice: 1 of 2 independent approval(s); state scanned\n',
    );
    const alone = await same('alice', ['promote', 'mail@2'], { status: 3 });
    expect(alone.stderr).toContain('two-person-rule');
    await same('alice', ['status', 'mail@2']);
    await same('alice', ['--json', 'status', 'mail@2']);
  });

  it('approves, gates, releases and exports the same records and verdict as a local export', async () => {
    const two = JSON.parse(await ok(as('bob').remote, '--json', 'approve', 'mail@2')) as {
      promoted: boolean;
    };
    expect(two.promoted).toBe(true);
    const passed = await as('bob').remote(
      'gate',
      'mail@2',
      '--policy',
      'gate.yaml',
      '--verdict',
      'verdict.json',
    );
    expect(passed.status, passed.stderr).toBe(0);
    expect(passed.stdout).toMatch(
      /^Gate PASSED for mail@2 \(verdict [0-9a-f]{12}, signed by bob\)/,
    );
    const envelope = JSON.parse(readFileSync(join(dir, 'verdict.json'), 'utf8')) as {
      payload: string;
    };
    expect(Buffer.from(envelope.payload, 'base64').toString()).toContain('"passed":true');
    expect(await ok(root().remote, 'release', 'mail@2')).toBe('mail@2 is released\n');
    expect(JSON.parse(await ok(root().remote, '--json', 'status', 'mail@2'))).toMatchObject({
      state: 'released',
      gate: { passed: true },
    });

    const remote = await ok(root().remote, 'export', 'mail@2', '--out', 'remote-out');
    const local = await ok(root().local, 'export', 'mail@2', '--out', 'local-out');
    expect(remote).toBe(`Exported mail@2 to ${join(dir, 'remote-out')}: 102 records, 0 files\n`);
    expect(remote.replace('remote-out', 'local-out')).toBe(local);
    for (const file of ['records.jsonl', 'verdict.dsse.json'])
      expect(readFileSync(join(dir, 'remote-out', file))).toEqual(
        readFileSync(join(dir, 'local-out', file)),
      );
    const busy = await root().remote('export', 'mail@2', '--out', 'remote-out');
    expect(busy.status).toBe(2);
    expect(busy.stderr).toContain('exists and is not empty');
    const parquet = await root().remote('export', 'mail@2', '--out', 'p', '--parquet');
    expect(parquet.status).toBe(2);
    expect(parquet.stderr).toContain('--parquet needs a local workspace');
  });

  it('runs the review queue: open, list, decide, apply', async () => {
    await ok(root().remote, 'ingest', 'planted', 'planted.jsonl');
    // A broken --fail-on rule fails the command (exit 1); the scan is recorded all the same.
    const scan = await root().remote('scan', 'planted', '--fail-on', 'trigger');
    expect(scan.status).toBe(1);
    expect(scan.stderr).toMatch(/^cordon: scan failed \[FINDINGS\]: --fail-on trigger: /);
    // planted is high impact: the scan queued its strong findings for review at once.
    const queued =
      /^Recorded signed scan [0-9a-f]{12} of planted@1 \(report [0-9a-f]{12}\)\nHigh-impact dataset: (\d+) record\(s\) scoring ≥ 0\.5 queued for review \("cordon review list"\)\nScanned planted@1: 40 rows/.exec(
        scan.stdout,
      );
    expect(queued, JSON.stringify(scan.stdout)).not.toBeNull();
    const n = Number(queued![1]);
    expect(n).toBeGreaterThan(0);
    expect(await ok(root().remote, 'review', 'open', 'planted', '--threshold', '0.5')).toMatch(
      /^Opened 0 review item\(s\) on planted@1 from scan [0-9a-f]{12}\n$/,
    );
    await same('root', ['review', 'list']);
    await same('root', ['--json', 'review', 'list', 'planted']);
    const items = JSON.parse(await ok(root().remote, '--json', 'review', 'list')) as {
      id: string;
      record_id: string;
    }[];
    const decided = await ok(root().remote, 'review', 'decide', 'drop', ...items.map((i) => i.id));
    expect(decided.trim().split('\n')).toEqual(
      items.map((i) => `${i.id}: drop (record ${i.record_id})`),
    );
    await same('root', ['review', 'list', '--all']);
    await same('root', ['--json', 'review', 'list', '--all']);
    expect(await ok(root().remote, 'review', 'apply', 'planted')).toBe(
      `Committed planted@2 from the review of planted@1: ${n} dropped, 0 relabelled, 0 kept\n`,
    );
  });

  it('quarantines and lifts, listing quarantines as the local command does', async () => {
    const placed = await ok(
      as('alice').remote,
      'quarantine',
      'add',
      'snapshot',
      'mail@1',
      '--reason',
      'planted trigger',
    );
    const id = /^Quarantined snapshot [0-9a-f]{12} \(quarantine (\S+)\)\n$/.exec(placed)?.[1];
    expect(id).toBeDefined();
    await same('root', ['quarantine', 'list']);
    await same('root', ['--json', 'quarantine', 'list']);
    await same('alice', ['quarantine', 'lift', id!, '--reason', 'fixed'], { status: 3 });
    expect(await ok(as('bob').remote, 'quarantine', 'lift', id!, '--reason', 'fixed')).toMatch(
      new RegExp(`^Lifted quarantine ${id} on snapshot [0-9a-f]{12}\\n$`),
    );
    await same('root', ['--json', 'quarantine', 'list', '--all']);
    await same('root', ['quarantine', 'list', '--all']);
  });

  it('creates, rotates and revokes tokens', async () => {
    const created = await ok(root().remote, 'token', 'create', 'alice', '--scope', 'datasets:read');
    const keyId =
      /^cordon_pat_live_([A-Za-z0-9]{12})_\S+\n\nToken \1 for alice \(datasets:read\), expires never\.\n/.exec(
        created,
      )?.[1];
    expect(keyId, created).toBeDefined();
    const rotated = JSON.parse(
      await ok(root().remote, '--json', 'token', 'rotate', keyId!, '--overlap', '1h'),
    ) as { token: string; keyId: string; rotatedFrom: string };
    expect(Object.keys(rotated)[0]).toBe('token');
    expect(rotated.rotatedFrom).toBe(keyId);
    expect(await ok(root().remote, 'token', 'revoke', rotated.keyId)).toBe(
      `Revoked token ${rotated.keyId} of alice\n`,
    );
    const refused = await cliEnv(
      dir,
      { CORDON_TOKEN: rotated.token, CORDON_SERVER: server.url },
      'datasets',
    );
    expect(refused.status).toBe(3);
    expect(refused.stderr).toMatch(/^cordon: refused \[UNAUTHENTICATED\]: .*revoked/);
  });
});

describe('the other commands against a server', () => {
  const masked = (s: string, names: Record<string, string>) => {
    for (const [name, as] of Object.entries(names)) s = s.replaceAll(name, as);
    return s
      .replace(/snapshot [0-9a-f]{12}/, 'snapshot ID')
      .replace(/key ed25519:[0-9a-f]+/, 'key ID');
  };

  it('tags, rolls back, merges, transforms and relabels', async () => {
    expect(await ok(root().remote, 'tag', 'copy@1', 'known-good')).toBe(
      'Tagged copy@1 known-good\n',
    );
    await same('root', ['tags', 'copy']);
    await same('root', ['--json', 'tags']);
    expect(await ok(root().remote, 'tag', 'copy@1', 'known-good', '--delete')).toBe(
      'Removed copy@1 tag known-good\n',
    );
    await ok(root().remote, 'ingest', 'copy', 'more.jsonl', '--append');
    const rolled = await ok(
      root().remote,
      'rollback',
      'copy',
      '--to',
      'copy@1',
      '--reason',
      'test',
    );
    expect(rolled).toMatch(/^Rolled copy back to copy@1 \([0-9a-f]{12}\); was [0-9a-f]{12}\n$/);
    await same('root', ['log', 'copy']);

    const merged = {
      remote: await ok(root().remote, 'merge', 'both', 'copy@1', 'copy@2', '--on-conflict', 'last'),
      local: await ok(
        root().local,
        'merge',
        'both-here',
        'copy@1',
        'copy@2',
        '--on-conflict',
        'last',
      ),
    };
    expect(merged.remote).toMatch(/^Merged into both@1 \(curated\): 102 records/);
    expect(masked(merged.remote, { 'both@': 'X@' })).toBe(
      masked(merged.local, { 'both-here@': 'X@' }),
    );

    const args = [
      'more.jsonl',
      '--from',
      'copy@1',
      '--command',
      'python clean.py',
      '--param',
      'k=v',
    ];
    const transformed = {
      remote: await ok(root().remote, 'transform', 'derived', ...args),
      local: await ok(root().local, 'transform', 'derived-here', ...args),
    };
    expect(transformed.remote).toMatch(/^Committed derived@1 \(curated\): 2 records/);
    expect(masked(transformed.remote, { 'derived@': 'X@' })).toBe(
      masked(transformed.local, { 'derived-here@': 'X@' }),
    );
    await same('root', ['lineage', 'derived']);
    await same('root', ['lineage', 'derived', '--format', 'json']);

    writeFileSync(join(dir, 'labels.csv'), 'id,label\neasy-ham-1/00001,spam\n');
    expect(await ok(root().remote, 'relabel', 'copy', 'labels.csv')).toBe(
      'Committed copy@3: 1 label(s) changed\n',
    );
    const diff = JSON.parse(await ok(root().remote, '--json', 'diff', 'copy@1', 'copy@3')) as {
      labelChanges: unknown[];
    };
    expect(diff.labelChanges).toEqual([{ from: 'ham', to: 'spam', records: 1 }]);
  });

  it('configures datasets, sources, identities and checks policies', async () => {
    await same('root', ['dataset', 'set', 'copy', '--approvals', '2', '--review-threshold', '0.7']);
    await same('root', ['--json', 'dataset', 'set', 'copy', '--external']);
    await same('root', ['source', 'copy', 'easy-ham-1', '--trusted']);
    await same('root', ['--json', 'source', 'copy', 'spam-1', '--external']);
    await same('root', ['dataset', 'show', 'copy']);
    await same('root', ['--json', 'dataset', 'show', 'copy']);

    writeFileSync(
      join(dir, 'no-tags.cedar'),
      '@id("no-tags")\nforbid (principal, action == Cordon::Action::"tag", resource);\n',
    );
    await same('root', ['policy', 'check', 'no-tags.cedar']);
    writeFileSync(
      join(dir, 'bad.cedar'),
      'permit (principal, action, resource) when { resource.nope };\n',
    );
    // Cedar lists the problems in no fixed order: the same message, not the same bytes.
    const bad = await root().remote('policy', 'check', 'bad.cedar');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^cordon: error \[POLICY_INVALID\]: .*bad\.cedar:1:45/s);

    const added = {
      remote: await ok(root().remote, 'identity', 'add', 'carol'),
      local: await ok(root().local, 'identity', 'add', 'dave'),
    };
    expect(added.remote).toMatch(/^Added human carol \(key ed25519:[0-9a-f]+\)\n$/);
    expect(masked(added.remote, { carol: 'X' })).toBe(masked(added.local, { dave: 'X' }));
    const bot = JSON.parse(
      await ok(root().remote, '--json', 'identity', 'add', 'bot', '--service', '--owner', 'carol'),
    ) as Record<string, unknown>;
    expect(Object.keys(bot)).toEqual(['name', 'kind', 'keyId', 'owners']);
    expect(bot).toMatchObject({ kind: 'service', owners: ['carol'] });
    expect(
      await ok(root().remote, 'identity', 'grant', 'carol', 'steward', '--dataset', 'copy'),
    ).toBe('Granted steward on copy to carol\n');
    expect(await ok(root().remote, 'identity', 'join', 'carol', 'reviewers')).toBe(
      'carol joined group reviewers\n',
    );
    await same('root', ['identity', 'list']);
    expect(
      await ok(root().remote, 'identity', 'revoke', 'carol', 'steward', '--dataset', 'copy'),
    ).toBe('Revoked steward on copy from carol\n');
    await same('root', ['identity', 'revoke', 'carol', 'steward', '--dataset', 'copy']);
    expect(
      JSON.parse(
        await ok(root().remote, '--json', 'identity', 'disable', 'carol', '--reason', 'left'),
      ),
    ).toEqual({ name: 'carol', revokedTokens: 0, flaggedServices: ['bot'] });
    await same('root', ['--json', 'identity', 'list']);
  });
});

describe('what the CLI cannot do against a server', () => {
  it('names the command that works on a local workspace only', async () => {
    const policy = await root().remote('policy', 'add', 'no-tags.cedar');
    expect(policy.status).toBe(2);
    expect(policy.stderr).toBe(
      'cordon: error [USAGE]: cordon policy add cannot run against a server; run it on a local workspace, without --server or $CORDON_SERVER\n',
    );
    const signOnly = await root().remote('approve', 'mail@2', '--sign-only', 'a.json');
    expect(signOnly.stderr).toContain('--sign-only signs with a key in a local workspace');
  });

  it('still does what needs no workspace: poisoning and scanning a local file', async () => {
    const poison = await root().remote(
      'poison',
      'mail.jsonl',
      '--out',
      'poisoned.jsonl',
      '--attack',
      'flip:0.05',
    );
    expect(poison.status, poison.stderr).toBe(0);
    const scan = await root().remote(
      'scan',
      'poisoned.jsonl',
      '--detectors',
      'label/confident-learning',
    );
    expect(scan.status, scan.stderr).toBe(0);
    expect(scan.stdout).toMatch(/^Scanned poisoned\.jsonl: 100 rows/);
  });

  it('needs a token, takes no --as, and says which server it cannot reach', async () => {
    const noToken = await cliEnv(dir, { CORDON_SERVER: server.url }, 'datasets');
    expect(noToken.status).toBe(3);
    expect(noToken.stderr).toContain('set $CORDON_TOKEN');
    const asAlice = await root().remote('datasets', '--as', 'alice');
    expect(asAlice.status).toBe(2);
    expect(asAlice.stderr).toContain('--as picks a local identity');
    const both = await cliEnv(
      dir,
      { CORDON_TOKEN: tokens['root']! },
      '--server',
      server.url,
      '-w',
      '.cordon',
      'datasets',
    );
    expect(both.status).toBe(2);

    const port = await closedPort();
    const down = await cliEnv(
      dir,
      { CORDON_TOKEN: tokens['root']! },
      '--server',
      `http://127.0.0.1:${port}`,
      'datasets',
    );
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(
      new RegExp(
        `^cordon: error \\[WORKSPACE_NOT_FOUND\\]: cannot reach the Cordon server at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`,
      ),
    );
    const bad = await cliEnv(dir, { CORDON_TOKEN: 'x' }, '--server', 'localhost:8787', 'datasets');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--server must be an http:// or https:// URL');
  });
});

/** A port nothing listens on (one that was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}
