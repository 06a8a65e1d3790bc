/**
 * Hygiene report for non-human identities (service accounts) and the tokens of every identity,
 * mapped to the OWASP Top 10 for Non-Human Identities (2025).
 *
 * Pure: takes facts the store already holds (identities, token metadata, last-use records) and
 * returns findings. Only token key ids and identity names appear in messages, never secrets.
 *
 * Revoked tokens and tokens already past their expiry are ignored by every rule: they can no
 * longer authenticate, so there is nothing left to fix about them.
 */
import { CordonError } from './errors.js';

export type NhiId =
  'NHI1' | 'NHI2' | 'NHI3' | 'NHI4' | 'NHI5' | 'NHI6' | 'NHI7' | 'NHI8' | 'NHI9' | 'NHI10';

export const NHI_TOP10: Record<NhiId, string> = {
  NHI1: 'Improper Offboarding',
  NHI2: 'Secret Leakage',
  NHI3: 'Vulnerable Third-Party NHI',
  NHI4: 'Insecure Authentication',
  NHI5: 'Overprivileged NHI',
  NHI6: 'Insecure Cloud Deployment Configurations',
  NHI7: 'Long-Lived Secrets',
  NHI8: 'Environment Isolation',
  NHI9: 'NHI Reuse',
  NHI10: 'Human Use of NHI',
};

export interface IdentityFacts {
  name: string;
  kind: 'human' | 'service';
  disabled: boolean;
  /** Humans accountable for a service account; [] for humans. */
  owners: string[];
}

export interface TokenFacts {
  keyId: string;
  identity: string;
  kind: 'nhi' | 'pat';
  env: 'live' | 'test';
  scopes: string[];
  usedScopes: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  /** The last use came from an interactive terminal or browser. */
  lastUsedInteractive: boolean;
}

export type NhiSeverity = 'high' | 'medium' | 'low';

export interface NhiFinding {
  item: NhiId;
  /** NHI_TOP10[item] */
  title: string;
  severity: NhiSeverity;
  subject: { identity: string; token?: string /* keyId */ };
  /** Stable rule id, e.g. 'token-no-expiry'. */
  rule: string;
  message: string;
}

export interface NhiReportOptions {
  now: string;
  /** Longest acceptable token lifetime, e.g. 90. */
  maxLifetimeDays: number;
  /** A token not used for this long is considered abandoned, e.g. 30. */
  unusedDays: number;
}

/** Every rule id the report can emit, with the OWASP item it maps to. */
export const NHI_RULES = {
  'token-no-expiry': 'NHI7',
  'token-too-long': 'NHI7',
  'token-unused': 'NHI1',
  'token-over-scoped': 'NHI5',
  'service-admin-scope': 'NHI5',
  'service-orphaned': 'NHI1',
  'disabled-identity-token': 'NHI1',
  'unknown-identity-token': 'NHI1',
  'human-uses-nhi-token': 'NHI10',
  'pat-on-service': 'NHI10',
  'test-token-live-scope': 'NHI8',
  'service-shared-tokens': 'NHI9',
} as const satisfies Record<string, NhiId>;

export type NhiRule = keyof typeof NHI_RULES;

/** Scopes a service account should never hold: they let it grant itself or others more power. */
export const ADMIN_SCOPES: readonly string[] = ['identities:admin', 'policies:admin'];

/** Active tokens a service account may hold at once: the current one and its successor. */
export const MAX_ACTIVE_SERVICE_TOKENS = 2;

const DAY_MS = 24 * 60 * 60 * 1000;
const SEVERITY_RANK: Record<NhiSeverity, number> = { high: 0, medium: 1, low: 2 };

function parseTime(value: string, what: string): number {
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new CordonError('INPUT_INVALID', `${what} is not a valid timestamp: ${value}`);
  }
  return t;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function isWriteOrAdmin(scope: string): boolean {
  return scope.endsWith(':write') || scope.endsWith(':admin');
}

/**
 * Runs every rule over the identities and tokens. Findings come back sorted by severity (high
 * first), then identity, then rule, then token key id.
 */
export function nhiReport(
  identities: readonly IdentityFacts[],
  tokens: readonly TokenFacts[],
  options: NhiReportOptions,
): NhiFinding[] {
  const now = Date.parse(options.now);
  if (Number.isNaN(now)) throw new CordonError('USAGE', `report time is not a valid timestamp`);
  for (const key of ['maxLifetimeDays', 'unusedDays'] as const) {
    const v = options[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new CordonError('USAGE', `${key} must be a non-negative number of days`);
    }
  }
  const maxLifetimeMs = options.maxLifetimeDays * DAY_MS;
  const unusedMs = options.unusedDays * DAY_MS;

  const byName = new Map<string, IdentityFacts>();
  for (const identity of identities) byName.set(identity.name, identity);

  const findings: NhiFinding[] = [];
  const add = (
    rule: NhiRule,
    severity: NhiSeverity,
    identity: string,
    token: string | undefined,
    message: string,
  ): void => {
    const item = NHI_RULES[rule];
    findings.push({
      item,
      title: NHI_TOP10[item],
      severity,
      subject: token === undefined ? { identity } : { identity, token },
      rule,
      message,
    });
  };

  const describeOwner = (name: string): string => {
    const identity = byName.get(name);
    if (!identity) return `identity "${name}"`;
    return identity.kind === 'service' ? `service account "${name}"` : `user "${name}"`;
  };

  // Tokens that can still authenticate, grouped by identity for the per-identity rules.
  const activeByIdentity = new Map<string, TokenFacts[]>();

  for (const t of tokens) {
    const what = `token ${t.keyId}`;
    if (t.revokedAt !== null) continue;
    const expires = t.expiresAt === null ? null : parseTime(t.expiresAt, `${what} expiresAt`);
    if (expires !== null && expires <= now) continue;
    const created = parseTime(t.createdAt, `${what} createdAt`);
    const lastUsed = t.lastUsedAt === null ? null : parseTime(t.lastUsedAt, `${what} lastUsedAt`);

    const list = activeByIdentity.get(t.identity);
    if (list) list.push(t);
    else activeByIdentity.set(t.identity, [t]);

    const owner = byName.get(t.identity);
    const isService = owner?.kind === 'service';
    const holder = describeOwner(t.identity);
    const label = `${t.kind === 'nhi' ? 'Service token' : 'Personal access token'} ${t.keyId} of ${holder}`;

    // NHI7: secrets that live forever or far too long.
    if (expires === null) {
      add(
        'token-no-expiry',
        t.kind === 'nhi' ? 'high' : 'medium',
        t.identity,
        t.keyId,
        `${label} never expires; reissue it with an expiry of at most ${plural(options.maxLifetimeDays, 'day')}.`,
      );
    } else if (expires - created > maxLifetimeMs) {
      const days = Math.round((expires - created) / DAY_MS);
      add(
        'token-too-long',
        'medium',
        t.identity,
        t.keyId,
        `${label} is valid for ${plural(days, 'day')}, longer than the ${plural(options.maxLifetimeDays, 'day')} allowed; rotate it to a shorter-lived token.`,
      );
    }

    // NHI1: tokens nobody uses any more are leftovers from offboarding that never happened.
    if (lastUsed === null) {
      if (now - created > unusedMs) {
        add(
          'token-unused',
          'medium',
          t.identity,
          t.keyId,
          `${label} has never been used since it was created ${plural(Math.floor((now - created) / DAY_MS), 'day')} ago; revoke it if it is not needed.`,
        );
      }
    } else if (now - lastUsed > unusedMs) {
      add(
        'token-unused',
        'medium',
        t.identity,
        t.keyId,
        `${label} was last used ${plural(Math.floor((now - lastUsed) / DAY_MS), 'day')} ago; revoke it if it is not needed.`,
      );
    }

    // NHI1: a disabled or deleted identity that can still authenticate.
    if (owner === undefined) {
      add(
        'unknown-identity-token',
        'high',
        t.identity,
        t.keyId,
        `${label} is still active but the identity no longer exists; revoke the token.`,
      );
    } else if (owner.disabled) {
      add(
        'disabled-identity-token',
        'high',
        t.identity,
        t.keyId,
        `${label} is still active although the identity is disabled; revoke the token.`,
      );
    }

    // NHI5: more privilege than the token has shown it needs.
    if (lastUsed !== null && now - created > unusedMs) {
      const used = new Set(t.usedScopes);
      const unused = [...new Set(t.scopes)].filter((s) => !used.has(s)).sort(compareText);
      if (unused.length > 0) {
        add(
          'token-over-scoped',
          'medium',
          t.identity,
          t.keyId,
          `${label} holds ${unused.length === 1 ? 'a scope' : 'scopes'} it has not used in ${plural(Math.floor((now - created) / DAY_MS), 'day')}: ${unused.join(', ')}; reissue it without ${unused.length === 1 ? 'it' : 'them'}.`,
        );
      }
    }
    if (isService) {
      const admin = ADMIN_SCOPES.filter((s) => t.scopes.includes(s));
      if (admin.length > 0) {
        add(
          'service-admin-scope',
          'high',
          t.identity,
          t.keyId,
          `${label} holds administrative ${admin.length === 1 ? 'scope' : 'scopes'} ${admin.join(', ')}; a service account should not be able to change identities or policies.`,
        );
      }
    }

    // NHI10: people borrowing machine credentials, or machines holding a person's kind of token.
    if (t.kind === 'nhi' && t.lastUsedInteractive) {
      add(
        'human-uses-nhi-token',
        'high',
        t.identity,
        t.keyId,
        `${label} was last used from an interactive terminal or browser; a person appears to be using a service credential, so rotate it and give that person their own access.`,
      );
    }
    if (t.kind === 'pat' && isService) {
      add(
        'pat-on-service',
        'medium',
        t.identity,
        t.keyId,
        `${label} is a personal access token issued to a service account; replace it with a service (nhi) token.`,
      );
    }

    // NHI8: test credentials that can change real data.
    if (t.env === 'test') {
      const risky = [...new Set(t.scopes)].filter(isWriteOrAdmin).sort(compareText);
      if (risky.length > 0) {
        add(
          'test-token-live-scope',
          'low',
          t.identity,
          t.keyId,
          `${label} is a test token but holds write or admin ${risky.length === 1 ? 'scope' : 'scopes'} ${risky.join(', ')}; limit test tokens to read scopes.`,
        );
      }
    }
  }

  for (const identity of identities) {
    if (identity.kind !== 'service') continue;

    // NHI1: a service account nobody is accountable for.
    if (!identity.disabled) {
      const problems = identity.owners.map((name) => {
        const o = byName.get(name);
        if (!o) return `"${name}" does not exist`;
        if (o.disabled) return `"${name}" is disabled`;
        if (o.kind !== 'human') return `"${name}" is not a person`;
        return null;
      });
      if (identity.owners.length === 0) {
        add(
          'service-orphaned',
          'high',
          identity.name,
          undefined,
          `Service account "${identity.name}" has no owners; assign an accountable person or disable it.`,
        );
      } else if (problems.every((p) => p !== null)) {
        add(
          'service-orphaned',
          'high',
          identity.name,
          undefined,
          `Service account "${identity.name}" has no active human owner (${problems.join('; ')}); assign an accountable person or disable it.`,
        );
      }
    }

    // NHI9: one identity's credentials spread across more consumers than rotation explains.
    const active = activeByIdentity.get(identity.name) ?? [];
    if (active.length > MAX_ACTIVE_SERVICE_TOKENS) {
      const ids = active.map((t) => t.keyId).sort(compareText);
      add(
        'service-shared-tokens',
        'low',
        identity.name,
        undefined,
        `Service account "${identity.name}" has ${active.length} active tokens (${ids.join(', ')}); more than ${MAX_ACTIVE_SERVICE_TOKENS} suggests it is shared between workloads, so give each workload its own service account.`,
      );
    }
  }

  return findings.sort(
    (a, b) =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      compareText(a.subject.identity, b.subject.identity) ||
      compareText(a.rule, b.rule) ||
      compareText(a.subject.token ?? '', b.subject.token ?? '') ||
      compareText(a.message, b.message),
  );
}
