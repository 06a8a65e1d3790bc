/**
 * Rebuilds the governance state that the audit log vouches for, by replaying its events in order:
 * identities, grants, group members, tokens, dataset settings, sources, approvals, gate runs,
 * quarantines, snapshot states, dataset heads and tags. Comparing the result with the database
 * tables shows any row written, changed or deleted behind Cordon's back, even one that has no
 * signature of its own (a grant, a token's scopes, a dataset head).
 */

export interface ReplayEvent {
  seq: number;
  kind: string;
  dataset: string | null;
  snapshot_id: string | null;
  detail: string;
}

export interface ExpectedToken {
  identity: string;
  kind: string;
  env: string;
  hash: string;
  scopes: string[];
  expiresAt: string | null;
  revoked: boolean;
}

export interface GovernanceState {
  identities: Map<string, { kind: string; owners: string[]; keyId: string; disabled: boolean }>;
  grants: Set<string>; // grantKey()
  members: Set<string>; // `${group}\0${member}`
  tokens: Map<string, ExpectedToken>;
  settings: Map<
    string,
    { highImpact: number; external: number; approvals: number; threshold: number }
  >;
  sources: Map<string, { trusted: number; external: number }>; // `${dataset}\0${name}`
  approvals: Set<string>;
  gateRuns: Map<string, boolean>;
  quarantines: Map<string, { kind: string; target: string; lifted: boolean }>;
  states: Map<string, string>;
  heads: Map<string, string>;
  tags: Set<string>; // `${snapshot}\0${tag}`
}

export function grantKey(type: string, subject: string, role: string, dataset: string): string {
  return [type, subject, role, dataset].join('\0');
}

const COMMIT_KINDS = new Set(['snapshot.ingest', 'snapshot.transform', 'snapshot.merge']);

type Detail = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(str) : []);

/** Replays `events` (in sequence order). Events of kinds it does not model are skipped. */
export function replayGovernance(events: Iterable<ReplayEvent>): GovernanceState {
  const s: GovernanceState = {
    identities: new Map(),
    grants: new Set(),
    members: new Set(),
    tokens: new Map(),
    settings: new Map(),
    sources: new Map(),
    approvals: new Set(),
    gateRuns: new Map(),
    quarantines: new Map(),
    states: new Map(),
    heads: new Map(),
    tags: new Set(),
  };
  for (const e of events) {
    let d: Detail;
    try {
      d = JSON.parse(e.detail) as Detail;
    } catch {
      continue; // the Merkle check reports edited events; a replay cannot use them
    }
    const snap = e.snapshot_id;
    switch (e.kind) {
      case 'identity.add':
        s.identities.set(str(d['identity']), {
          kind: str(d['kind']),
          owners: strings(d['owners']).sort(),
          keyId: str(d['keyId']),
          disabled: false,
        });
        break;
      case 'identity.disable': {
        const id = s.identities.get(str(d['identity']));
        if (id) id.disabled = true;
        for (const t of strings(d['revokedTokens'])) {
          const tok = s.tokens.get(t);
          if (tok) tok.revoked = true;
        }
        break;
      }
      case 'grant.add':
      case 'grant.remove': {
        const key = grantKey(
          str(d['subject_type']),
          str(d['subject']),
          str(d['role']),
          str(d['dataset']),
        );
        if (e.kind === 'grant.add') s.grants.add(key);
        else s.grants.delete(key);
        break;
      }
      case 'group.join':
        s.members.add(`${str(d['group'])}\0${str(d['member'])}`);
        break;
      case 'token.create':
      case 'token.rotate': {
        s.tokens.set(str(d['token']), {
          identity: str(d['identity']),
          kind: str(d['kind']),
          env: str(d['env']),
          hash: str(d['hash']),
          scopes: strings(d['scopes']).sort(),
          expiresAt: d['expiresAt'] === null ? null : str(d['expiresAt']),
          revoked: false,
        });
        const old = e.kind === 'token.rotate' ? s.tokens.get(str(d['replaces'])) : undefined;
        if (old) old.expiresAt = str(d['oldExpiresAt']);
        break;
      }
      case 'token.revoke': {
        const tok = s.tokens.get(str(d['token']));
        if (tok) tok.revoked = true;
        break;
      }
      case 'dataset.configure':
        s.settings.set(str(d['dataset']), {
          highImpact: num(d['high_impact']),
          external: num(d['externally_sourced']),
          approvals: num(d['required_approvals']),
          threshold: num(d['review_threshold']),
        });
        break;
      case 'source.set':
        s.sources.set(`${e.dataset ?? ''}\0${str(d['source'])}`, {
          trusted: d['trusted'] === true ? 1 : 0,
          external: d['external'] === true ? 1 : 0,
        });
        break;
      case 'snapshot.approve':
        s.approvals.add(str(d['approval']));
        break;
      case 'snapshot.gate':
        s.gateRuns.set(str(d['gate']), d['passed'] === true);
        break;
      case 'quarantine.place':
        s.quarantines.set(str(d['quarantine']), {
          kind: str(d['kind']),
          target: str(d['target']),
          lifted: false,
        });
        if (d['kind'] === 'snapshot') s.states.set(str(d['target']), 'quarantined');
        break;
      case 'quarantine.lift': {
        const q = s.quarantines.get(str(d['quarantine']));
        if (q) q.lifted = true;
        if (d['kind'] === 'snapshot' && typeof d['state'] === 'string')
          s.states.set(str(d['target']), d['state']);
        break;
      }
      case 'snapshot.scan':
        if (snap !== null && (s.states.get(snap) ?? 'draft') === 'draft')
          s.states.set(snap, 'scanned');
        break;
      case 'snapshot.promote':
        if (snap !== null) s.states.set(snap, 'approved');
        break;
      case 'snapshot.release':
        if (snap !== null) s.states.set(snap, 'released');
        break;
      case 'dataset.rollback':
        if (e.dataset !== null) s.heads.set(e.dataset, str(d['to']));
        break;
      case 'snapshot.tag':
      case 'snapshot.untag':
        if (snap !== null) {
          const key = `${snap}\0${str(d['tag'])}`;
          if (e.kind === 'snapshot.tag') s.tags.add(key);
          else s.tags.delete(key);
        }
        break;
      default:
        if (COMMIT_KINDS.has(e.kind) && e.dataset !== null && snap !== null)
          s.heads.set(e.dataset, snap);
    }
  }
  return s;
}
