import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, cliEnv, cliJson } from './helpers/cli.js';
import { tempDir } from './helpers/workspace.js';

/**
 * The governance commands as a user meets them: exit codes, messages, tokens through
 * $CORDON_TOKEN, --as before or after the command, and what lands in the audit log.
 */
describe('governance from the command line', () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    const rows = readFileSync(join(import.meta.dirname, 'fixtures/spam-100.jsonl'), 'utf8');
    writeFileSync(join(dir, 'mail.jsonl'), rows);
    for (const args of [
      ['init', '--identity', 'root'],
      ['ingest', 'mail', 'mail.jsonl'],
      ['identity', 'add', 'alice'],
      ['identity', 'add', 'bob'],
      ['identity', 'add', 'lena'],
      ['identity', 'add', 'bot', '--service', '--owner', 'alice'],
      ['identity', 'grant', 'alice', 'steward', '--dataset', 'mail'],
      ['identity', 'grant', 'bob', 'steward', '--dataset', 'mail'],
      ['identity', 'grant', 'lena', 'labeler', '--dataset', 'mail'],
      ['identity', 'grant', 'bot', 'contributor', '--dataset', 'mail'],
    ]) {
      const r = await cli(dir, ...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });
  afterEach(() => cleanup());

  it('prints a token once, stores only its hash, and accepts it from $CORDON_TOKEN', async () => {
    const created = await cliJson<{ token: string; keyId: string }>(
      dir,
      'token',
      'create',
      'bot',
      '--scope',
      'datasets:write',
      '--expires',
      '7d',
    );
    expect(created.token).toMatch(/^cordon_nhi_live_[A-Za-z0-9]{12}_[A-Za-z0-9]{49}$/);
    const db = new Database(join(dir, '.cordon/cordon.db'), { readonly: true });
    const dump = JSON.stringify(db.prepare('SELECT * FROM tokens').all());
    db.close();
    expect(dump).not.toContain(created.token.slice(-49));
    const list = await cli(dir, 'token', 'list');
    expect(list.stdout).toContain(created.keyId);
    expect(list.stdout).not.toContain(created.token);

    writeFileSync(join(dir, 'more.jsonl'), '{"id":"n1","label":"ham","text":"hello there"}\n');
    const ok = await cliEnv(
      dir,
      { CORDON_TOKEN: created.token },
      'ingest',
      'mail',
      'more.jsonl',
      '--append',
    );
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('signed by bot');
    // Contributors may tag but not roll back: the role decides, whatever the token's scope.
    expect((await cliEnv(dir, { CORDON_TOKEN: created.token }, 'tag', 'mail', 'x')).status).toBe(0);
    const rollback = await cliEnv(
      dir,
      { CORDON_TOKEN: created.token },
      'rollback',
      'mail',
      '--to',
      'mail@1',
      '--reason',
      'r',
    );
    expect(rollback.status).toBe(3);
    expect(rollback.stderr).toMatch(/no policy permits service account "bot"/);
    // A token without the scope is refused even where the role allows the action.
    const readOnly = await cliJson<{ token: string }>(
      dir,
      'token',
      'create',
      'bot',
      '--scope',
      'datasets:read',
      '--expires',
      '1d',
    );
    const scoped = await cliEnv(dir, { CORDON_TOKEN: readOnly.token }, 'tag', 'mail', 'y');
    expect(scoped.status).toBe(3);
    expect(scoped.stderr).toContain('token-scope');
    // Service-account tokens must expire.
    const forever = await cli(dir, 'token', 'create', 'bot', '--scope', 'datasets:read');
    expect(forever.status).toBe(2);
    expect(forever.stderr).toMatch(/must expire/);
  });

  it('refuses expired, revoked and malformed tokens with exit 3 and logs each attempt', async () => {
    const t = await cliJson<{ token: string; keyId: string }>(
      dir,
      'token',
      'create',
      'bot',
      '--scope',
      'datasets:write',
      '--expires',
      '7d',
    );
    expect((await cli(dir, 'token', 'revoke', t.keyId, '--reason', 'leaked')).status).toBe(0);
    const revoked = await cliEnv(dir, { CORDON_TOKEN: t.token }, 'tag', 'mail', 'x');
    expect(revoked.status).toBe(3);
    expect(revoked.stderr).toMatch(/UNAUTHENTICATED.*revoked.*leaked/);
    const garbage = await cliEnv(
      dir,
      { CORDON_TOKEN: 'cordon_nhi_live_abc_def' },
      'tag',
      'mail',
      'x',
    );
    expect(garbage.status).toBe(3);
    const flipped = t.token.slice(0, -1) + (t.token.endsWith('A') ? 'B' : 'A');
    const bad = await cliEnv(dir, { CORDON_TOKEN: flipped }, 'tag', 'mail', 'x');
    expect(bad.status).toBe(3);
    expect(bad.stderr).not.toContain(flipped);
    const events = await cliJson<{ kind: string; detail: string }[]>(
      dir,
      'audit',
      'show',
      '--kind',
      'auth.failed',
    );
    expect(events.length).toBe(3);
    expect(JSON.stringify(events)).not.toContain(t.token.slice(-49));
  });

  it('enforces separation of duties on approvals and the two-person rule', async () => {
    expect((await cli(dir, 'dataset', 'set', 'mail', '--external')).status).toBe(0);
    expect((await cli(dir, 'scan', 'mail')).status).toBe(0);
    // root authored mail@1: as the author, root may not approve it.
    const self = await cli(dir, 'approve', 'mail');
    expect(self.status).toBe(3);
    expect(self.stderr).toContain('no-self-approval');
    // --as works after the command name too.
    const one = await cli(dir, 'approve', 'mail', '--as', 'alice');
    expect(one.status, one.stderr).toBe(0);
    expect(one.stdout).toContain('1 of 2');
    const promote = await cli(dir, '--as', 'alice', 'promote', 'mail');
    expect(promote.status).toBe(3);
    expect(promote.stderr).toContain('two-person-rule');
    const labeler = await cli(dir, 'approve', 'mail', '--as', 'lena');
    expect(labeler.status).toBe(3);
    expect(labeler.stderr).toMatch(/no policy permits/);
    const two = await cliJson<{ promoted: boolean }>(dir, 'approve', 'mail', '--as', 'bob');
    expect(two.promoted).toBe(true);
    const status = await cliJson<{ state: string }>(dir, 'status', 'mail');
    expect(status.state).toBe('approved');
    const denials = await cliJson<unknown[]>(dir, 'audit', 'show', '--kind', 'authz.deny');
    expect(denials.length).toBe(3);
    expect((await cli(dir, 'audit', 'verify')).status).toBe(0);
  });

  it('gates with exit 1, refuses ungated exports, and lets an owner override with a reason', async () => {
    writeFileSync(
      join(dir, 'gate.yaml'),
      'version: 1\nscan:\n  triggers: forbid\napprovals:\n  min: 1\n',
    );
    expect((await cli(dir, 'scan', 'mail')).status).toBe(0);
    const failed = await cli(dir, 'gate', 'mail', '--policy', 'gate.yaml');
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/approvals\s+FAIL/);
    expect((await cli(dir, 'export', 'mail', '--out', 'out')).status).toBe(3);
    expect((await cli(dir, 'approve', 'mail', '--as', 'alice')).status).toBe(0);
    const passed = await cli(dir, 'gate', 'mail', '--policy', 'gate.yaml', '--verdict', 'v.json');
    expect(passed.status, passed.stdout + passed.stderr).toBe(0);
    const verdict = JSON.parse(readFileSync(join(dir, 'v.json'), 'utf8')) as { payload: string };
    expect(Buffer.from(verdict.payload, 'base64').toString()).toContain('svr/v0.1');
    expect((await cli(dir, 'export', 'mail', '--out', 'out')).status).toBe(0);
    const verified = await cli(dir, 'verify', 'out');
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('gate verdict: passed');
    // A doctored verdict fails the whole export: the consumer cannot be fooled about the gate.
    const verdictFile = join(dir, 'out/verdict.dsse.json');
    const env = JSON.parse(readFileSync(verdictFile, 'utf8')) as { payload: string };
    const doctored = Buffer.from(env.payload, 'base64')
      .toString()
      .replace('"passed":true', '"passed":false');
    writeFileSync(
      verdictFile,
      JSON.stringify({ ...env, payload: Buffer.from(doctored).toString('base64') }),
    );
    const tampered = await cli(dir, 'verify', 'out');
    expect(tampered.status).toBe(1);
    expect(tampered.stderr).toContain('verdict.dsse.json');
    // An owner's override of a different (ungated) snapshot is logged with its reason.
    writeFileSync(join(dir, 'more.jsonl'), '{"id":"n1","label":"ham","text":"hello there"}\n');
    expect((await cli(dir, 'ingest', 'mail', 'more.jsonl', '--append')).status).toBe(0);
    const over = await cli(
      dir,
      'export',
      'mail',
      '--out',
      'out2',
      '--override-gate',
      'hotfix model',
    );
    expect(over.status, over.stderr).toBe(0);
    const exports = await cliJson<{ detail: unknown }[]>(
      dir,
      'audit',
      'show',
      '--kind',
      'snapshot.export',
    );
    expect(JSON.stringify(exports.at(-1)!.detail)).toContain('hotfix model');
    const bad = await cli(dir, 'gate', 'mail', '--policy', 'mail.jsonl');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('POLICY_INVALID');
  });

  it('rejects an invalid Cedar policy with its message and installs a valid one that takes effect', async () => {
    writeFileSync(
      join(dir, 'bad.cedar'),
      'permit (principal, action, resource) when { resource.nope };\n',
    );
    const bad = await cli(dir, 'policy', 'add', 'bad.cedar');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/POLICY_INVALID.*bad\.cedar/s);
    writeFileSync(
      join(dir, 'no-tags.cedar'),
      '@id("no-tags")\nforbid (principal, action == Cordon::Action::"tag", resource);\n',
    );
    expect((await cli(dir, 'policy', 'add', 'no-tags.cedar')).status).toBe(0);
    const tag = await cli(dir, 'tag', 'mail', 'x');
    expect(tag.status).toBe(3);
    expect(tag.stderr).toContain('no-tags');
    const changes = await cliJson<unknown[]>(dir, 'audit', 'show', '--kind', 'policy.change');
    expect(changes.length).toBe(1);
  });

  it('reports NHI hygiene findings mapped to the OWASP NHI Top 10', async () => {
    expect((await cli(dir, 'token', 'create', 'alice', '--scope', 'datasets:read')).status).toBe(0);
    expect(
      (await cli(dir, 'identity', 'disable', 'alice', '--reason', 'left the team')).status,
    ).toBe(0);
    const report = await cliJson<{ findings: { item: string; rule: string }[] }>(
      dir,
      'nhi',
      'report',
    );
    const rules = report.findings.map((f) => `${f.item}:${f.rule}`);
    expect(rules).toContain('NHI1:service-orphaned');
    // alice's token was revoked by the offboarding, so it is no longer a finding.
    expect(rules.some((r) => r.endsWith('token-no-expiry'))).toBe(false);
    const list = await cli(dir, 'identity', 'list');
    expect(list.stdout).toMatch(/bot\s+service.*owner alice was offboarded/);
  });
});
