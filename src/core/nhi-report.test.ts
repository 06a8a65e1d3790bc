import { describe, expect, it } from 'vitest';
import { CordonError } from './errors.js';
import {
  NHI_RULES,
  NHI_TOP10,
  nhiReport,
  type IdentityFacts,
  type NhiFinding,
  type NhiReportOptions,
  type TokenFacts,
} from './nhi-report.js';

const NOW = '2025-06-01T00:00:00.000Z';
const OPTIONS: NhiReportOptions = { now: NOW, maxLifetimeDays: 90, unusedDays: 30 };
const DAY = 86_400_000;

/** An ISO timestamp `days` days before NOW (negative for the future). */
function ago(days: number): string {
  return new Date(Date.parse(NOW) - days * DAY).toISOString();
}

function human(name: string, extra: Partial<IdentityFacts> = {}): IdentityFacts {
  return { name, kind: 'human', disabled: false, owners: [], ...extra };
}

function service(
  name: string,
  owners: string[],
  extra: Partial<IdentityFacts> = {},
): IdentityFacts {
  return { name, kind: 'service', disabled: false, owners, ...extra };
}

/** A healthy token: recent, short-lived, used recently with every scope it holds. */
function token(keyId: string, identity: string, extra: Partial<TokenFacts> = {}): TokenFacts {
  return {
    keyId,
    identity,
    kind: 'nhi',
    env: 'live',
    scopes: ['datasets:read', 'datasets:write'],
    usedScopes: ['datasets:read', 'datasets:write'],
    createdAt: ago(10),
    expiresAt: ago(-80),
    revokedAt: null,
    lastUsedAt: ago(1),
    lastUsedInteractive: false,
    ...extra,
  };
}

const alice = human('alice');
const ingest = service('svc-ingest', ['alice']);
const IDENTITIES = [alice, ingest];

function run(
  tokens: TokenFacts[],
  identities: IdentityFacts[] = IDENTITIES,
  options: NhiReportOptions = OPTIONS,
): NhiFinding[] {
  return nhiReport(identities, tokens, options);
}

function ofRule(findings: NhiFinding[], rule: string): NhiFinding[] {
  return findings.filter((f) => f.rule === rule);
}

describe('nhiReport', () => {
  it('lists the OWASP NHI Top 10 (2025)', () => {
    expect(Object.keys(NHI_TOP10)).toEqual([
      'NHI1',
      'NHI2',
      'NHI3',
      'NHI4',
      'NHI5',
      'NHI6',
      'NHI7',
      'NHI8',
      'NHI9',
      'NHI10',
    ]);
    expect(NHI_TOP10.NHI7).toBe('Long-Lived Secrets');
    expect(NHI_TOP10.NHI10).toBe('Human Use of NHI');
  });

  it('finds nothing in a clean setup', () => {
    const tokens = [
      token('svcA00000001', 'svc-ingest'),
      token('svcA00000002', 'svc-ingest', {
        createdAt: ago(60),
        expiresAt: ago(-20),
        usedScopes: ['datasets:write', 'datasets:read'],
      }),
      token('patA00000001', 'alice', { kind: 'pat', lastUsedInteractive: true }),
      token('patA00000002', 'alice', {
        kind: 'pat',
        env: 'test',
        scopes: ['datasets:read'],
        usedScopes: ['datasets:read'],
      }),
    ];
    expect(run(tokens)).toEqual([]);
    expect(run([])).toEqual([]);
  });

  it('ignores revoked and expired tokens', () => {
    const bad: Partial<TokenFacts> = {
      expiresAt: null,
      lastUsedAt: null,
      createdAt: ago(400),
      lastUsedInteractive: true,
      scopes: ['identities:admin'],
    };
    const revoked = token('revoked00001', 'svc-ingest', { ...bad, revokedAt: ago(2) });
    const expired = token('expired00001', 'svc-ingest', { ...bad, expiresAt: ago(1) });
    expect(run([revoked, expired])).toEqual([]);
  });

  it('fills title from the item and never includes secrets in messages', () => {
    const findings = run([token('svcA00000001', 'svc-ingest', { expiresAt: null })]);
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(Object.keys(f!).sort()).toEqual([
      'item',
      'message',
      'rule',
      'severity',
      'subject',
      'title',
    ]);
    expect(f).toMatchObject({
      item: 'NHI7',
      title: 'Long-Lived Secrets',
      severity: 'high',
      subject: { identity: 'svc-ingest', token: 'svcA00000001' },
      rule: 'token-no-expiry',
    });
    expect(f!.message).toContain('svcA00000001');
    expect(f!.message).toContain('svc-ingest');
    expect(f!.message).toMatch(/^[A-Z].*\.$/);
    for (const finding of findings) expect(finding.title).toBe(NHI_TOP10[finding.item]);
  });

  describe('token-no-expiry (NHI7)', () => {
    it('is high for a service token and medium for a personal token', () => {
      const findings = run([
        token('svcA00000001', 'svc-ingest', { expiresAt: null }),
        token('patA00000001', 'alice', { kind: 'pat', expiresAt: null }),
      ]);
      const hits = ofRule(findings, 'token-no-expiry');
      expect(hits.map((f) => [f.subject.token, f.severity, f.item])).toEqual([
        ['svcA00000001', 'high', 'NHI7'],
        ['patA00000001', 'medium', 'NHI7'],
      ]);
    });

    it('does not fire for a token with an expiry', () => {
      expect(ofRule(run([token('svcA00000001', 'svc-ingest')]), 'token-no-expiry')).toEqual([]);
    });
  });

  describe('token-too-long (NHI7)', () => {
    it('fires when the lifetime exceeds the maximum', () => {
      const t = token('svcA00000001', 'svc-ingest', { createdAt: ago(10), expiresAt: ago(-81) });
      const hits = ofRule(run([t]), 'token-too-long');
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ item: 'NHI7', severity: 'medium' });
      expect(hits[0]!.message).toContain('91 days');
    });

    it('does not fire at exactly the maximum', () => {
      const t = token('svcA00000001', 'svc-ingest', { createdAt: ago(10), expiresAt: ago(-80) });
      expect(ofRule(run([t]), 'token-too-long')).toEqual([]);
    });
  });

  describe('token-unused (NHI1)', () => {
    it('fires for a token never used and older than the window', () => {
      const t = token('svcA00000001', 'svc-ingest', { createdAt: ago(31), lastUsedAt: null });
      const hits = ofRule(run([t]), 'token-unused');
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ item: 'NHI1', severity: 'medium' });
      expect(hits[0]!.message).toMatch(/never been used/);
    });

    it('fires for a token last used before the window', () => {
      const t = token('svcA00000001', 'svc-ingest', { createdAt: ago(60), lastUsedAt: ago(31) });
      expect(ofRule(run([t]), 'token-unused')).toHaveLength(1);
    });

    it('does not fire for a new unused token or a recently used one', () => {
      const fresh = token('svcA00000001', 'svc-ingest', { createdAt: ago(29), lastUsedAt: null });
      const recent = token('svcA00000002', 'svc-ingest', {
        createdAt: ago(60),
        lastUsedAt: ago(29),
      });
      expect(ofRule(run([fresh, recent]), 'token-unused')).toEqual([]);
    });
  });

  describe('token-over-scoped (NHI5)', () => {
    it('fires for a used, established token holding scopes it never used, naming them', () => {
      const t = token('svcA00000001', 'svc-ingest', {
        createdAt: ago(45),
        scopes: ['datasets:read', 'datasets:write', 'labels:write'],
        usedScopes: ['datasets:read'],
      });
      const hits = ofRule(run([t]), 'token-over-scoped');
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ item: 'NHI5', severity: 'medium' });
      expect(hits[0]!.message).toContain('datasets:write, labels:write');
      expect(hits[0]!.message).not.toContain('datasets:read,');
    });

    it('does not fire for a token that is too new, never used, or uses every scope', () => {
      const scopes = { scopes: ['datasets:read', 'labels:write'], usedScopes: ['datasets:read'] };
      const young = token('svcA00000001', 'svc-ingest', { ...scopes, createdAt: ago(29) });
      const unused = token('svcA00000002', 'svc-ingest', {
        ...scopes,
        createdAt: ago(45),
        lastUsedAt: null,
      });
      const full = token('svcA00000003', 'alice', { kind: 'pat', createdAt: ago(45) });
      expect(ofRule(run([young, unused, full]), 'token-over-scoped')).toEqual([]);
    });
  });

  describe('service-admin-scope (NHI5)', () => {
    it('fires for a service account token with an admin scope', () => {
      const t = token('svcA00000001', 'svc-ingest', {
        scopes: ['policies:admin'],
        usedScopes: ['policies:admin'],
      });
      const hits = ofRule(run([t]), 'service-admin-scope');
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ item: 'NHI5', severity: 'high' });
      expect(hits[0]!.message).toContain('policies:admin');
    });

    it('does not fire for a human holding an admin scope', () => {
      const t = token('patA00000001', 'alice', {
        kind: 'pat',
        scopes: ['identities:admin', 'policies:admin'],
        usedScopes: ['identities:admin', 'policies:admin'],
      });
      expect(ofRule(run([t]), 'service-admin-scope')).toEqual([]);
    });
  });

  describe('service-orphaned (NHI1)', () => {
    it('fires for no owners, disabled owners, unknown owners, or only non-human owners', () => {
      const identities = [
        alice,
        human('bob', { disabled: true }),
        service('svc-none', []),
        service('svc-gone', ['bob', 'carol']),
        service('svc-bot', ['svc-none']),
      ];
      const hits = ofRule(run([], identities), 'service-orphaned');
      expect(hits.map((f) => f.subject)).toEqual([
        { identity: 'svc-bot' },
        { identity: 'svc-gone' },
        { identity: 'svc-none' },
      ]);
      for (const f of hits) expect(f).toMatchObject({ item: 'NHI1', severity: 'high' });
      const gone = hits.find((f) => f.subject.identity === 'svc-gone')!;
      expect(gone.message).toContain('"bob" is disabled');
      expect(gone.message).toContain('"carol" does not exist');
    });

    it('does not fire when one owner is active, or for a disabled service account', () => {
      const identities = [
        alice,
        human('bob', { disabled: true }),
        service('svc-ok', ['bob', 'alice']),
        service('svc-off', [], { disabled: true }),
      ];
      expect(ofRule(run([], identities), 'service-orphaned')).toEqual([]);
    });
  });

  describe('disabled-identity-token (NHI1)', () => {
    it('fires for an active token of a disabled identity', () => {
      const identities = [alice, human('bob', { disabled: true })];
      const hits = ofRule(
        run([token('patB00000001', 'bob', { kind: 'pat' })], identities),
        'disabled-identity-token',
      );
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({
        item: 'NHI1',
        severity: 'high',
        subject: { identity: 'bob', token: 'patB00000001' },
      });
    });

    it('does not fire once the token is revoked', () => {
      const identities = [alice, human('bob', { disabled: true })];
      const t = token('patB00000001', 'bob', { kind: 'pat', revokedAt: ago(1) });
      expect(run([t], identities)).toEqual([]);
    });
  });

  describe('unknown-identity-token (NHI1)', () => {
    it('fires for an active token whose identity does not exist', () => {
      const hits = ofRule(run([token('ghost0000001', 'ghost')]), 'unknown-identity-token');
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ item: 'NHI1', severity: 'high' });
    });

    it('does not fire for a known identity', () => {
      expect(ofRule(run([token('svcA00000001', 'svc-ingest')]), 'unknown-identity-token')).toEqual(
        [],
      );
    });
  });

  describe('human-uses-nhi-token (NHI10)', () => {
    it('fires when a service token was last used interactively', () => {
      const t = token('svcA00000001', 'svc-ingest', { lastUsedInteractive: true });
      const hits = ofRule(run([t]), 'human-uses-nhi-token');
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ item: 'NHI10', severity: 'high' });
    });

    it('does not fire for a personal token used interactively', () => {
      const t = token('patA00000001', 'alice', { kind: 'pat', lastUsedInteractive: true });
      expect(ofRule(run([t]), 'human-uses-nhi-token')).toEqual([]);
    });
  });

  describe('pat-on-service (NHI10)', () => {
    it('fires for a personal access token issued to a service account', () => {
      const hits = ofRule(
        run([token('patS00000001', 'svc-ingest', { kind: 'pat' })]),
        'pat-on-service',
      );
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ item: 'NHI10', severity: 'medium' });
    });

    it('does not fire for a service token on a service account', () => {
      expect(ofRule(run([token('svcA00000001', 'svc-ingest')]), 'pat-on-service')).toEqual([]);
    });
  });

  describe('test-token-live-scope (NHI8)', () => {
    it('fires for a test token with a write or admin scope', () => {
      const write = token('test00000001', 'svc-ingest', { env: 'test' });
      const admin = token('test00000002', 'alice', {
        kind: 'pat',
        env: 'test',
        scopes: ['audit:read', 'identities:admin'],
        usedScopes: ['audit:read', 'identities:admin'],
      });
      const hits = ofRule(run([write, admin]), 'test-token-live-scope');
      expect(hits.map((f) => f.subject.token)).toEqual(['test00000002', 'test00000001']);
      for (const f of hits) expect(f).toMatchObject({ item: 'NHI8', severity: 'low' });
      expect(hits[0]!.message).toContain('identities:admin');
      expect(hits[0]!.message).not.toContain('audit:read');
    });

    it('does not fire for a read-only test token or a live token with write scopes', () => {
      const readOnly = token('test00000001', 'svc-ingest', {
        env: 'test',
        scopes: ['datasets:read', 'snapshots:export', 'audit:read'],
        usedScopes: ['datasets:read', 'snapshots:export', 'audit:read'],
      });
      const live = token('live00000001', 'svc-ingest');
      expect(ofRule(run([readOnly, live]), 'test-token-live-scope')).toEqual([]);
    });
  });

  describe('service-shared-tokens (NHI9)', () => {
    it('fires for a service account with more than two active tokens', () => {
      const tokens = ['c', 'a', 'b'].map((s) =>
        token(`svc${s}00000000`.slice(0, 12), 'svc-ingest'),
      );
      const hits = ofRule(run(tokens), 'service-shared-tokens');
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({
        item: 'NHI9',
        severity: 'low',
        subject: { identity: 'svc-ingest' },
      });
      expect(hits[0]!.subject).not.toHaveProperty('token');
      expect(hits[0]!.message).toContain('(svca00000000, svcb00000000, svcc00000000)');
    });

    it('allows two active tokens for rotation and does not count revoked ones, nor humans', () => {
      const tokens = [
        token('svcA00000001', 'svc-ingest'),
        token('svcA00000002', 'svc-ingest'),
        token('svcA00000003', 'svc-ingest', { revokedAt: ago(1) }),
        token('svcA00000004', 'svc-ingest', { expiresAt: ago(1), createdAt: ago(20) }),
        ...[1, 2, 3].map((n) => token(`patA0000000${n}`, 'alice', { kind: 'pat' })),
      ];
      expect(ofRule(run(tokens), 'service-shared-tokens')).toEqual([]);
    });
  });

  it('sorts by severity, then identity, then rule', () => {
    const identities = [alice, human('bob', { disabled: true }), ingest, service('svc-zeta', [])];
    const tokens = [
      token('test00000001', 'alice', { kind: 'pat', env: 'test' }), // low, alice
      token('svcZ00000001', 'svc-zeta', { expiresAt: null }), // high svc-zeta token-no-expiry
      token('svcA00000001', 'svc-ingest', {
        createdAt: ago(45),
        expiresAt: ago(-40),
        lastUsedAt: ago(40),
      }), // medium token-unused
      token('patB00000001', 'bob', { kind: 'pat', expiresAt: null }), // high bob disabled + medium no-expiry
      token('patS00000001', 'svc-ingest', { kind: 'pat' }), // medium pat-on-service
    ];
    const order = run(tokens, identities).map((f) => [f.severity, f.subject.identity, f.rule]);
    expect(order).toEqual([
      ['high', 'bob', 'disabled-identity-token'],
      ['high', 'svc-zeta', 'service-orphaned'],
      ['high', 'svc-zeta', 'token-no-expiry'],
      ['medium', 'bob', 'token-no-expiry'],
      ['medium', 'svc-ingest', 'pat-on-service'],
      ['medium', 'svc-ingest', 'token-unused'],
      ['low', 'alice', 'test-token-live-scope'],
    ]);
  });

  it('maps every rule to an item that exists', () => {
    for (const item of Object.values(NHI_RULES)) expect(NHI_TOP10[item]).toBeTypeOf('string');
  });

  it('refuses invalid options and timestamps', () => {
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        return e instanceof CordonError ? e.code : 'other';
      }
      return undefined;
    };
    expect(codeOf(() => run([], IDENTITIES, { ...OPTIONS, now: 'yesterday' }))).toBe('USAGE');
    expect(codeOf(() => run([], IDENTITIES, { ...OPTIONS, unusedDays: -1 }))).toBe('USAGE');
    expect(codeOf(() => run([token('svcA00000001', 'svc-ingest', { createdAt: 'soon' })]))).toBe(
      'INPUT_INVALID',
    );
  });
});
