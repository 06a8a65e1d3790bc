import { describe, expect, it } from 'vitest';
import { isCordonError } from '../../core/errors.js';
import { ACTION_SCOPES, ACTIONS, type Action, type Role } from './actions.js';
import {
  Authorizer,
  type AuthzRequest,
  type CredentialFacts,
  type DatasetFacts,
  type Grant,
  type PolicyFile,
  type PrincipalFacts,
  type ResourceFacts,
  type SnapshotFacts,
} from './authorizer.js';
import { DEFAULT_POLICIES } from './default-policies.js';
import { CEDAR_SCHEMA } from './schema.js';
import { CEDAR_SCHEMA_JSON } from './schema-json.js';
import { schemaToJson } from '@cedar-policy/cedar-wasm/nodejs';

const NOW = '2025-06-01T12:00:00Z';
// The shipped defaults are validated here, strictly against the schema (the CLI skips that).
const authz = Authorizer.load([], { checkDefaults: true });

function dataset(over: Partial<DatasetFacts> = {}): DatasetFacts {
  return { name: 'spam', externallySourced: false, highImpact: false, ...over };
}

function snapshot(over: Partial<SnapshotFacts> = {}): SnapshotFacts {
  return {
    id: 'snap-1',
    state: 'scanned',
    author: 'carol',
    accountableHumans: ['carol'],
    quarantined: false,
    gatePassed: true,
    integrityVerified: true,
    ...over,
  };
}

function human(name = 'alice', over: Partial<PrincipalFacts> = {}): PrincipalFacts {
  return { type: 'Human', name, disabled: false, owners: [], groups: [], ...over };
}

function bot(name = 'ingest-bot', over: Partial<PrincipalFacts> = {}): PrincipalFacts {
  return { type: 'ServiceAccount', name, disabled: false, owners: ['olga'], groups: [], ...over };
}

function keyCredential(over: Partial<CredentialFacts> = {}): CredentialFacts {
  return {
    kind: 'key',
    id: 'key-1',
    scopes: [],
    expiresAt: null,
    revoked: false,
    quarantined: false,
    ...over,
  };
}

function token(scopes: string[], over: Partial<CredentialFacts> = {}): CredentialFacts {
  return keyCredential({
    kind: 'token',
    id: 'tok-1',
    scopes,
    expiresAt: '2026-01-01T00:00:00Z',
    ...over,
  });
}

/** A representative resource for each action, set up so that no forbid gets in the way. */
function resourceFor(action: Action, ds: DatasetFacts = dataset()): ResourceFacts {
  switch (action) {
    case 'createDataset':
    case 'manageIdentities':
    case 'managePolicies':
    case 'grantRoles':
    case 'readAudit':
      return { type: 'Workspace' };
    case 'manageTokens':
      return { type: 'Identity', identity: { name: 'zed', kind: 'human', owners: [] } };
    case 'read':
    case 'ingest':
    case 'rollback':
    case 'tag':
    case 'configureDataset':
      return { type: 'Dataset', dataset: ds };
    case 'relabel':
      return { type: 'LabelSet', dataset: ds };
    case 'manageSources':
    case 'quarantineSource':
    case 'liftSourceQuarantine':
      return {
        type: 'Source',
        dataset: ds,
        source: { name: 'web', trusted: false, quarantined: true, quarantinedBy: 'dave' },
      };
    case 'approve':
    case 'promote':
      return { type: 'ChangeRequest', dataset: ds, snapshot: snapshot() };
    default:
      return { type: 'Snapshot', dataset: ds, snapshot: snapshot(), quarantinedBy: 'dave' };
  }
}

function grant(role: Role, ds = 'spam', name = 'alice'): Grant {
  return { subject: { type: 'Human', name }, role, dataset: ds };
}

function request(action: Action, over: Partial<AuthzRequest> = {}): AuthzRequest {
  return {
    principal: human(),
    credential: keyCredential(),
    action,
    resource: resourceFor(action),
    grants: [],
    now: NOW,
    independentApprovals: 1,
    requiredApprovals: 1,
    ...over,
  };
}

const DATASET_ACTIONS = ACTIONS.filter(
  (a) =>
    ![
      'createDataset',
      'manageIdentities',
      'manageTokens',
      'managePolicies',
      'grantRoles',
      'readAudit',
    ].includes(a),
);

/** What each role may do on the dataset it is granted on (written out by hand, on purpose). */
const ALLOWED: Record<Role, readonly Action[]> = {
  owner: [
    'read',
    'ingest',
    'rollback',
    'tag',
    'configureDataset',
    'relabel',
    'manageSources',
    'quarantineSource',
    'liftSourceQuarantine',
    'scan',
    'gate',
    'export',
    'overrideGate',
    'release',
    'review',
    'quarantine',
    'liftQuarantine',
    'approve',
    'promote',
  ],
  steward: [
    'read',
    'scan',
    'gate',
    'review',
    'approve',
    'promote',
    'release',
    'quarantine',
    'liftQuarantine',
    'manageSources',
    'quarantineSource',
    'liftSourceQuarantine',
    'tag',
    'rollback',
  ],
  contributor: ['read', 'ingest', 'relabel', 'scan', 'tag'],
  labeler: ['read', 'relabel', 'review'],
  trainer: ['read', 'export'],
  auditor: ['read'],
  admin: ['read'],
};

describe('role matrix', () => {
  const roles: Role[] = ['owner', 'steward', 'contributor', 'labeler', 'trainer', 'auditor'];
  const cases = roles.flatMap((role) =>
    DATASET_ACTIONS.map((action) => ({ role, action, allowed: ALLOWED[role].includes(action) })),
  );

  it.each(cases)('$role on the dataset: $action → $allowed', ({ role, action, allowed }) => {
    const decision = authz.authorize(request(action, { grants: [grant(role)] }));
    expect(decision.allowed, decision.reason).toBe(allowed);
    expect(decision.action).toBe(action);
    if (allowed) {
      expect(decision.policies).toEqual(expect.arrayContaining([`dataset-${role}s`]));
      expect(decision.reason).toContain(`dataset-${role}s`);
    } else {
      expect(decision.policies).toEqual([]);
      expect(decision.reason).toContain('no policy permits');
    }
  });

  it.each(roles)('%s on the dataset has no workspace powers', (role) => {
    for (const action of [
      'createDataset',
      'manageIdentities',
      'managePolicies',
      'grantRoles',
    ] as const) {
      expect(authz.authorize(request(action, { grants: [grant(role)] })).allowed).toBe(false);
    }
  });

  it('a grant on another dataset does not reach this one', () => {
    const decision = authz.authorize(request('ingest', { grants: [grant('owner', 'ham')] }));
    expect(decision.allowed).toBe(false);
    expect(decision.policies).toEqual([]);
  });

  it('nobody without a grant may do anything', () => {
    for (const action of ACTIONS) {
      const decision = authz.authorize(request(action));
      expect(decision.allowed, action).toBe(false);
    }
  });
});

describe('admin', () => {
  const admin = [grant('admin', '*')];

  it.each([
    'manageIdentities',
    'managePolicies',
    'grantRoles',
    'createDataset',
    'readAudit',
    'read',
  ] as const)('may %s', (action) => {
    const decision = authz.authorize(request(action, { grants: admin }));
    expect(decision.allowed, decision.reason).toBe(true);
    expect(decision.policies).toEqual(['admins']);
  });

  it("manages anyone's tokens", () => {
    const resource: ResourceFacts = {
      type: 'Identity',
      identity: { name: 'ingest-bot', kind: 'service', owners: ['olga'] },
    };
    expect(authz.authorize(request('manageTokens', { grants: admin, resource })).allowed).toBe(
      true,
    );
  });

  it.each(['ingest', 'approve', 'export', 'configureDataset'] as const)(
    'is not a dataset role: %s is denied',
    (action) => {
      expect(authz.authorize(request(action, { grants: admin })).allowed).toBe(false);
    },
  );

  it('counts only when granted on every dataset', () => {
    const decision = authz.authorize(request('grantRoles', { grants: [grant('admin', 'spam')] }));
    expect(decision.allowed).toBe(false);
  });

  it('reads the audit log on a dataset too', () => {
    const resource: ResourceFacts = { type: 'Dataset', dataset: dataset() };
    expect(authz.authorize(request('readAudit', { grants: admin, resource })).allowed).toBe(true);
  });
});

describe('global and group grants', () => {
  it('a grant on * works on every dataset', () => {
    for (const name of ['spam', 'ham']) {
      const resource = resourceFor('approve', dataset({ name }));
      const decision = authz.authorize(
        request('approve', { grants: [grant('steward', '*')], resource }),
      );
      expect(decision.allowed, decision.reason).toBe(true);
      expect(decision.policies).toEqual(['dataset-stewards']);
    }
  });

  it('a group grant reaches the group members only', () => {
    const grants: Grant[] = [
      { subject: { type: 'Group', name: 'curators' }, role: 'steward', dataset: 'spam' },
    ];
    const member = human('alice', { groups: ['curators'] });
    expect(authz.authorize(request('quarantine', { grants, principal: member })).allowed).toBe(
      true,
    );
    expect(
      authz.authorize(request('quarantine', { grants, principal: human('bob') })).allowed,
    ).toBe(false);
  });

  it('a group grant on * works', () => {
    const grants: Grant[] = [
      { subject: { type: 'Group', name: 'ml' }, role: 'trainer', dataset: '*' },
    ];
    const principal = human('tina', { groups: ['ml', 'other'] });
    const decision = authz.authorize(request('export', { grants, principal }));
    expect(decision.allowed, decision.reason).toBe(true);
  });

  it('grants match the subject type as well as the name', () => {
    const grants: Grant[] = [
      { subject: { type: 'ServiceAccount', name: 'alice' }, role: 'owner', dataset: 'spam' },
    ];
    expect(authz.authorize(request('read', { grants })).allowed).toBe(false);
  });

  it('a contributor or owner on * may create datasets; on one dataset may not', () => {
    const create = (grants: Grant[]) => authz.authorize(request('createDataset', { grants }));
    expect(create([grant('contributor', '*')]).policies).toEqual(['create-dataset']);
    expect(create([grant('owner', '*')]).allowed).toBe(true);
    expect(create([grant('contributor', 'spam')]).allowed).toBe(false);
    expect(create([grant('steward', '*')]).allowed).toBe(false);
  });

  it('auditors read the workspace audit only when they audit every dataset', () => {
    const workspace = (grants: Grant[]) => authz.authorize(request('readAudit', { grants }));
    expect(workspace([grant('auditor', '*')]).policies).toEqual(['auditors-read-audit']);
    expect(workspace([grant('auditor', 'spam')]).allowed).toBe(false);
    const onDataset = authz.authorize(
      request('readAudit', {
        grants: [grant('auditor', 'spam')],
        resource: { type: 'Dataset', dataset: dataset() },
      }),
    );
    expect(onDataset.allowed).toBe(true);
  });
});

describe('token management', () => {
  const identity = (name: string, kind: 'human' | 'service', owners: string[] = []) =>
    ({ type: 'Identity', identity: { name, kind, owners } }) as const;

  it('a human manages their own tokens, not somebody else’s', () => {
    const own = authz.authorize(request('manageTokens', { resource: identity('alice', 'human') }));
    expect(own.allowed).toBe(true);
    expect(own.policies).toEqual(['manage-own-tokens']);
    const other = authz.authorize(request('manageTokens', { resource: identity('bob', 'human') }));
    expect(other.allowed).toBe(false);
  });

  it("a service account's owners manage its tokens", () => {
    const resource = identity('ingest-bot', 'service', ['alice']);
    const owner = authz.authorize(request('manageTokens', { resource }));
    expect(owner.policies).toEqual(['manage-service-tokens']);
    const stranger = authz.authorize(
      request('manageTokens', { resource, principal: human('bob') }),
    );
    expect(stranger.allowed).toBe(false);
  });

  it('a service account does not manage its own tokens', () => {
    const decision = authz.authorize(
      request('manageTokens', {
        principal: bot('ingest-bot'),
        credential: token(['identities:admin']),
        resource: identity('ingest-bot', 'service', ['olga']),
      }),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.policies).toEqual([]);
  });
});

describe('forbids', () => {
  const expectForbidden = (req: AuthzRequest, id: string) => {
    const decision = authz.authorize(req);
    expect(decision.allowed, decision.reason).toBe(false);
    expect(decision.policies).toContain(id);
    expect(decision.reason).toContain(`"${id}"`);
    const doc = DEFAULT_POLICIES.find((p) => p.id === id)?.doc ?? '';
    expect(doc).not.toBe('');
    expect(decision.reason).toContain(doc);
    return decision;
  };
  const owner = [grant('owner')];
  const steward = [grant('steward')];

  it.each([
    ['revoked', { revoked: true }],
    ['quarantined', { quarantined: true }],
    ['expired', { expiresAt: '2025-06-01T11:59:59Z' }],
    ['expiring this instant (other offset)', { expiresAt: '2025-06-01T14:00:00+02:00' }],
  ] as const)('dead-credential: %s', (_name, over) => {
    expectForbidden(
      request('read', { grants: owner, credential: keyCredential(over) }),
      'dead-credential',
    );
  });

  it('a credential that expires later still works', () => {
    const credential = keyCredential({ expiresAt: '2025-06-01T12:00:01.5Z' });
    expect(authz.authorize(request('read', { grants: owner, credential })).allowed).toBe(true);
  });

  it('disabled-principal', () => {
    expectForbidden(
      request('read', { grants: owner, principal: human('alice', { disabled: true }) }),
      'disabled-principal',
    );
  });

  it('service-needs-token: a service account with a key is refused, with a token allowed', () => {
    const grants: Grant[] = [
      {
        subject: { type: 'ServiceAccount', name: 'ingest-bot' },
        role: 'contributor',
        dataset: 'spam',
      },
    ];
    expectForbidden(request('ingest', { grants, principal: bot() }), 'service-needs-token');
    const withToken = authz.authorize(
      request('ingest', { grants, principal: bot(), credential: token(['datasets:write']) }),
    );
    expect(withToken.allowed, withToken.reason).toBe(true);
  });

  it('token-scope: a token acts only within its scopes', () => {
    expectForbidden(
      request('ingest', { grants: owner, credential: token(['datasets:read']) }),
      'token-scope',
    );
    expect(
      authz.authorize(request('read', { grants: owner, credential: token(['datasets:read']) }))
        .allowed,
    ).toBe(true);
  });

  it.each(ACTIONS)('token-scope: %s needs exactly its scope', (action) => {
    const scope = ACTION_SCOPES[action];
    const grants = [grant('owner'), grant('admin', '*')];
    const resource =
      action === 'manageTokens' ? resourceFor(action) : resourceFor(action, dataset());
    const withScope = authz.authorize(
      request(action, { grants, resource, credential: token([scope]) }),
    );
    const without = authz.authorize(
      request(action, {
        grants,
        resource,
        credential: token(Object.values(ACTION_SCOPES).filter((s) => s !== scope)),
      }),
    );
    expect(without.allowed).toBe(false);
    if (withScope.allowed) expect(without.policies).toContain('token-scope');
  });

  it('humans-approve: a service account never approves', () => {
    const grants: Grant[] = [
      { subject: { type: 'ServiceAccount', name: 'ingest-bot' }, role: 'steward', dataset: 'spam' },
    ];
    expectForbidden(
      request('approve', { grants, principal: bot(), credential: token(['approvals:write']) }),
      'humans-approve',
    );
  });

  it('no-self-approval: the author, or the owner of the authoring bot, cannot approve', () => {
    const ds = dataset();
    const own: ResourceFacts = {
      type: 'ChangeRequest',
      dataset: ds,
      snapshot: snapshot({ author: 'alice', accountableHumans: ['alice'] }),
    };
    expectForbidden(request('approve', { grants: steward, resource: own }), 'no-self-approval');
    const botChange: ResourceFacts = {
      type: 'ChangeRequest',
      dataset: ds,
      snapshot: snapshot({ author: 'ingest-bot', accountableHumans: ['olga', 'alice'] }),
    };
    expectForbidden(
      request('approve', { grants: steward, resource: botChange }),
      'no-self-approval',
    );
    const other = authz.authorize(request('approve', { grants: steward }));
    expect(other.allowed).toBe(true);
  });

  it('two-person-rule: promotion needs the required independent approvals', () => {
    expectForbidden(
      request('promote', { grants: steward, independentApprovals: 0, requiredApprovals: 1 }),
      'two-person-rule',
    );
    expectForbidden(
      request('promote', { grants: steward, independentApprovals: 1, requiredApprovals: 2 }),
      'two-person-rule',
    );
    // omitted counts mean 0 approvals of 1 required
    const {
      independentApprovals: _a,
      requiredApprovals: _r,
      ...bare
    } = request('promote', {
      grants: steward,
    });
    expectForbidden(bare, 'two-person-rule');
    expect(authz.authorize(request('promote', { grants: steward })).allowed).toBe(true);
  });

  it('two-person-rule: externally sourced or high-impact data needs two even if told one', () => {
    for (const over of [{ externallySourced: true }, { highImpact: true }]) {
      const resource = resourceFor('promote', dataset(over));
      expectForbidden(
        request('promote', {
          grants: steward,
          resource,
          independentApprovals: 1,
          requiredApprovals: 1,
        }),
        'two-person-rule',
      );
      const two = authz.authorize(
        request('promote', {
          grants: steward,
          resource,
          independentApprovals: 2,
          requiredApprovals: 2,
        }),
      );
      expect(two.allowed, two.reason).toBe(true);
    }
  });

  it.each(['export', 'overrideGate', 'release'] as const)(
    'quarantined-snapshot: %s of a quarantined snapshot',
    (action) => {
      const resource: ResourceFacts = {
        type: 'Snapshot',
        dataset: dataset(),
        snapshot: snapshot({ quarantined: true, state: 'quarantined' }),
      };
      expectForbidden(request(action, { grants: owner, resource }), 'quarantined-snapshot');
    },
  );

  it.each(['approve', 'promote'] as const)(
    'quarantined-snapshot: %s of a quarantined change',
    (action) => {
      const resource: ResourceFacts = {
        type: 'ChangeRequest',
        dataset: dataset(),
        snapshot: snapshot({ state: 'quarantined' }),
      };
      expectForbidden(request(action, { grants: owner, resource }), 'quarantined-snapshot');
    },
  );

  it('export-needs-gate: no export before the gate passed; the owner override is separate', () => {
    const resource: ResourceFacts = {
      type: 'Snapshot',
      dataset: dataset(),
      snapshot: snapshot({ gatePassed: false }),
    };
    expectForbidden(
      request('export', { grants: [grant('trainer')], resource }),
      'export-needs-gate',
    );
    expect(authz.authorize(request('overrideGate', { grants: owner, resource })).allowed).toBe(
      true,
    );
    expect(
      authz.authorize(request('overrideGate', { grants: [grant('trainer')], resource })).allowed,
    ).toBe(false);
  });

  it('four-eyes-quarantine-lift: whoever placed a quarantine cannot lift it', () => {
    const snap: ResourceFacts = {
      type: 'Snapshot',
      dataset: dataset(),
      snapshot: snapshot({ quarantined: true, state: 'quarantined' }),
      quarantinedBy: 'alice',
    };
    expectForbidden(
      request('liftQuarantine', { grants: steward, resource: snap }),
      'four-eyes-quarantine-lift',
    );
    const byOther = authz.authorize(
      request('liftQuarantine', { grants: steward, resource: { ...snap, quarantinedBy: 'dave' } }),
    );
    expect(byOther.allowed, byOther.reason).toBe(true);
    const source: ResourceFacts = {
      type: 'Source',
      dataset: dataset(),
      source: { name: 'web', trusted: false, quarantined: true, quarantinedBy: 'alice' },
    };
    expectForbidden(
      request('liftSourceQuarantine', { grants: steward, resource: source }),
      'four-eyes-quarantine-lift',
    );
  });

  it('several forbids are all named', () => {
    const decision = authz.authorize(
      request('read', {
        grants: owner,
        principal: human('alice', { disabled: true }),
        credential: keyCredential({ revoked: true }),
      }),
    );
    expect(decision.allowed).toBe(false);
    expect([...decision.policies].sort()).toEqual(['dead-credential', 'disabled-principal']);
    expect(decision.reason).toMatch(/policies "(dead-credential|disabled-principal)"/);
  });
});

describe('decisions and reasons', () => {
  it('an allow names the permitting policy', () => {
    const decision = authz.authorize(request('export', { grants: [grant('trainer')] }));
    expect(decision).toEqual({
      allowed: true,
      action: 'export',
      policies: ['dataset-trainers'],
      reason: expect.stringContaining('"dataset-trainers"') as unknown,
    });
    expect(decision.reason).toContain('human "alice"');
  });

  it('default deny has no policies and says nothing permits it', () => {
    const decision = authz.authorize(request('export', { grants: [grant('labeler')] }));
    expect(decision.policies).toEqual([]);
    expect(decision.reason).toBe(
      'Denied: no policy permits human "alice" to export snapshot "snap-1" of dataset "spam".',
    );
  });

  it('an action on the wrong kind of resource is denied', () => {
    const decision = authz.authorize(
      request('approve', { grants: [grant('owner')], resource: resourceFor('export') }),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toContain('approve applies to a ChangeRequest');
  });

  it('bad timestamps are denied, not thrown', () => {
    expect(
      authz.authorize(request('read', { grants: [grant('owner')], now: 'yesterday' })).allowed,
    ).toBe(false);
    const credential = keyCredential({ expiresAt: 'soon' });
    const decision = authz.authorize(request('read', { grants: [grant('owner')], credential }));
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toContain('RFC 3339');
  });
});

describe('loading policies', () => {
  const load = (files: PolicyFile[]) => Authorizer.load(files);
  const loadError = (files: PolicyFile[]) => {
    try {
      load(files);
    } catch (e) {
      if (isCordonError(e)) return e;
      throw e;
    }
    throw new Error('expected the load to fail');
  };

  it('the JSON schema the authorizer loads is the text schema, converted', () => {
    const converted = schemaToJson(CEDAR_SCHEMA);
    expect(converted.type).toBe('success');
    if (converted.type !== 'success') return;
    // On a mismatch, regenerate src/engine/authz/schema-json.ts with this value.
    expect(CEDAR_SCHEMA_JSON).toEqual(converted.json);
  });

  it('the defaults carry their ids', () => {
    expect(authz.policyIds).toEqual(DEFAULT_POLICIES.map((p) => p.id));
    expect(new Set(authz.policyIds).size).toBe(authz.policyIds.length);
    for (const p of DEFAULT_POLICIES) expect(p.text).toContain(`@id("${p.id}")`);
    expect(authz.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(Authorizer.load().digest).toBe(authz.digest);
    expect(authz.warnings).toEqual([]);
  });

  it('a valid extra forbid takes effect and is named', () => {
    const extra = load([
      {
        file: 'policies/high-impact.cedar',
        text: `// exports of high-impact data go through a separate process
@id("no-high-impact-export")
@doc("keeps high-impact data inside: it is never exported directly")
forbid (principal, action == Cordon::Action::"export", resource)
when { resource.dataset.highImpact };
`,
      },
    ]);
    expect(extra.policyIds.at(-1)).toBe('no-high-impact-export');
    expect(extra.digest).not.toBe(authz.digest);
    const resource = resourceFor('export', dataset({ highImpact: true }));
    const decision = extra.authorize(request('export', { grants: [grant('trainer')], resource }));
    expect(decision.allowed).toBe(false);
    expect(decision.policies).toEqual(['no-high-impact-export']);
    expect(decision.reason).toContain('keeps high-impact data inside');
    expect(extra.authorize(request('export', { grants: [grant('trainer')] })).allowed).toBe(true);
  });

  it('policies without @id get <file>#<n>, and the effective text carries the id', () => {
    const extra = load([
      {
        file: 'extra.cedar',
        text: `permit (principal, action == Cordon::Action::"read", resource) when { principal.name == "guest" };
forbid (principal, action == Cordon::Action::"read", resource) when { resource.dataset.name == "secret" };`,
      },
    ]);
    expect(extra.policyIds.slice(-2)).toEqual(['extra.cedar#1', 'extra.cedar#2']);
    expect(extra.text).toContain('@id("extra.cedar#2")');
    const guest = extra.authorize(request('read', { principal: human('guest') }));
    expect(guest.policies).toEqual(['extra.cedar#1']);
    expect(guest.reason).toContain('from extra.cedar');
  });

  it('a user permit cannot override a default forbid', () => {
    const open = load([{ file: 'open.cedar', text: 'permit (principal, action, resource);' }]);
    expect(open.authorize(request('export')).allowed).toBe(true);
    const decision = open.authorize(
      request('export', { credential: keyCredential({ revoked: true }) }),
    );
    expect(decision.policies).toEqual(['dead-credential']);
  });

  it('a type error against the schema names the file, the line and Cedar’s message', () => {
    const error = loadError([
      {
        file: 'policies/typo.cedar',
        text: `@id("fine") forbid (principal, action, resource) when { principal.disabled };

@id("typo")
forbid (principal, action == Cordon::Action::"export", resource)
when { resource.gatePased };
`,
      },
    ]);
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.message).toContain('policies/typo.cedar:5:');
    expect(error.message).toContain('attribute `gatePased`');
    expect(error.message).toContain('did you mean `gatePassed`?');
  });

  it('a syntax error names the file and Cedar’s message', () => {
    const error = loadError([
      {
        file: 'broken.cedar',
        text: 'permit (principal, action, resource) when { principal.name == ',
      },
    ]);
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.message).toContain('broken.cedar:1:');
    expect(error.message).toContain('unexpected end of input');
  });

  it('lists the problems of every file at once', () => {
    const error = loadError([
      { file: 'a.cedar', text: 'permit (principal, action, resource) when { 1 + };' },
      { file: 'b.cedar', text: 'permit (principal, action, resource) when { principal.mfa };' },
      { file: 'c.cedar', text: 'permit (principal == ?principal, action, resource);' },
    ]);
    // Cedar reports the unknown attribute once per principal type
    expect(error.message).toMatch(/\(\d+ problems\)/);
    expect(error.message).toContain('a.cedar:1:');
    expect(error.message).toContain('b.cedar:1:');
    expect(error.message).toContain('c.cedar: policy templates');
  });

  it('rejects duplicate ids, against the defaults and between files', () => {
    const clash = loadError([
      { file: 'x.cedar', text: '@id("dead-credential") forbid (principal, action, resource);' },
    ]);
    expect(clash.code).toBe('POLICY_INVALID');
    expect(clash.message).toContain('duplicate policy id "dead-credential"');
    const twice = loadError([
      { file: 'x.cedar', text: '@id("mine") forbid (principal, action, resource);' },
      { file: 'y.cedar', text: '@id("mine") permit (principal, action, resource);' },
    ]);
    expect(twice.message).toContain(
      'y.cedar:1:1: duplicate policy id "mine" (already used in x.cedar)',
    );
  });

  it('a policy that fails to evaluate denies and is named', () => {
    const overflow = load([
      {
        file: 'overflow.cedar',
        text: `@id("overflowing")
forbid (principal, action, resource)
when { context.independentApprovals + 9223372036854775807 < 0 };`,
      },
    ]);
    const decision = overflow.authorize(
      request('read', { grants: [grant('owner')], independentApprovals: 1 }),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.policies).toEqual(['overflowing']);
    expect(decision.reason).toContain('"overflowing"');
    expect(decision.reason).toContain('overflow');
  });
});
