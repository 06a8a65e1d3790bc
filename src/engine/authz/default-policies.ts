import type { Action } from './actions.js';

/** A policy Cordon always enforces. `text` is one Cedar policy carrying its own `@id`. */
export interface DefaultPolicy {
  id: string;
  text: string;
  /** One line: what the policy allows or, for a forbid, what it protects. */
  doc: string;
}

function act(action: Action): string {
  return `Cordon::Action::"${action}"`;
}

function actionIn(actions: readonly Action[]): string {
  return actions.length === 1
    ? `action == ${act(actions[0] as Action)}`
    : `action in [${actions.map(act).join(', ')}]`;
}

function permit(id: string, doc: string, actions: readonly Action[], condition: string) {
  const text = `@id("${id}")\npermit (principal, ${actionIn(actions)}, resource)\nwhen { ${condition} };`;
  return { id, text, doc };
}

/** Every action on a dataset or on something inside it (snapshots, labels, sources). */
const OWNER_ACTIONS: readonly Action[] = [
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
];

const STEWARD_ACTIONS: readonly Action[] = [
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
];

const PERMITS: readonly DefaultPolicy[] = [
  permit(
    'admins',
    'Admins manage identities, tokens, policies and role grants, create datasets, read the audit log and read every dataset.',
    [
      'manageIdentities',
      'manageTokens',
      'managePolicies',
      'grantRoles',
      'createDataset',
      'readAudit',
      'read',
    ],
    'principal in Cordon::Role::"admin"',
  ),
  permit(
    'dataset-owners',
    "A dataset's owners may do everything on it, including configuring it and overriding a failed gate; approving stays a human act and the separation-of-duty forbids still apply.",
    OWNER_ACTIONS,
    'principal in resource.dataset.owners',
  ),
  permit(
    'dataset-stewards',
    'Stewards read, scan, gate, review, approve, promote, release and tag snapshots, roll back, manage sources, and place and lift quarantines on snapshots and sources.',
    STEWARD_ACTIONS,
    'principal in resource.dataset.stewards',
  ),
  permit(
    'dataset-contributors',
    'Contributors read, change content and labels, scan and tag.',
    ['read', 'ingest', 'relabel', 'scan', 'tag'],
    'principal in resource.dataset.contributors',
  ),
  permit(
    'dataset-labelers',
    'Labelers read, change labels and review snapshots.',
    ['read', 'relabel', 'review'],
    'principal in resource.dataset.labelers',
  ),
  permit(
    'dataset-trainers',
    'Trainers read and export snapshots for training.',
    ['read', 'export'],
    'principal in resource.dataset.trainers',
  ),
  permit(
    'dataset-auditors',
    'Auditors read the datasets they audit.',
    ['read'],
    'principal in resource.dataset.auditors',
  ),
  permit(
    'auditors-read-audit',
    'Auditors read the audit log: of their dataset, or of the whole workspace when they audit every dataset.',
    ['readAudit'],
    'principal in resource.auditors',
  ),
  permit(
    'create-dataset',
    'Whoever contributes to or owns every dataset may create a dataset.',
    ['createDataset'],
    'principal in resource.contributors || principal in resource.owners',
  ),
  {
    id: 'manage-own-tokens',
    doc: 'A human manages the API tokens of their own identity.',
    text: `@id("manage-own-tokens")
permit (principal is Cordon::Human, ${actionIn(['manageTokens'])}, resource is Cordon::Identity)
when { resource.kind == "human" && resource.name == principal.name };`,
  },
  {
    id: 'manage-service-tokens',
    doc: "A service account's human owners manage its API tokens.",
    text: `@id("manage-service-tokens")
permit (principal is Cordon::Human, ${actionIn(['manageTokens'])}, resource is Cordon::Identity)
when { resource.kind == "service" && resource.owners.contains(principal) };`,
  },
];

const FORBIDS: readonly DefaultPolicy[] = [
  {
    id: 'dead-credential',
    doc: 'protects against stolen or stale credentials: a revoked, quarantined or expired key or token authorizes nothing',
    text: `@id("dead-credential")
forbid (principal, action, resource)
when {
  context.credential.revoked ||
  context.credential.quarantined ||
  context.credential.expiresAt <= context.now
};`,
  },
  {
    id: 'disabled-principal',
    doc: 'protects against disabled accounts: a disabled human or service account is allowed nothing',
    text: `@id("disabled-principal")
forbid (principal, action, resource)
when { principal.disabled };`,
  },
  {
    id: 'service-needs-token',
    doc: 'keeps automation scoped and revocable: a service account acts only with an API token, never with a signing key',
    text: `@id("service-needs-token")
forbid (principal is Cordon::ServiceAccount, action, resource)
when { context.credential.kind != "token" };`,
  },
  {
    id: 'token-scope',
    doc: 'keeps a token to what it was issued for: an API token may only be used for actions within its scopes',
    text: `@id("token-scope")
forbid (principal, action, resource)
when {
  context.credential.kind == "token" &&
  !context.credential.scopes.contains(context.scope)
};`,
  },
  {
    id: 'humans-approve',
    doc: 'keeps approval a human judgement: a service account never approves a change; the schema admits service accounts in approve requests only so that this policy is the stated reason',
    text: `@id("humans-approve")
forbid (principal is Cordon::ServiceAccount, ${actionIn(['approve'])}, resource);`,
  },
  {
    id: 'no-self-approval',
    doc: 'separates duties: nobody approves a change they are accountable for, as its author or as an owner of the authoring bot',
    text: `@id("no-self-approval")
forbid (principal is Cordon::Human, ${actionIn(['approve'])}, resource)
when { resource.accountableHumans.contains(principal) };`,
  },
  {
    id: 'two-person-rule',
    doc: 'separates duties: a change is promoted only with the required independent human approvals, and never fewer than two for externally sourced or high-impact data',
    text: `@id("two-person-rule")
forbid (principal, ${actionIn(['promote'])}, resource)
when {
  context.independentApprovals < context.requiredApprovals ||
  ((resource.externallySourced || resource.highImpact) && context.independentApprovals < 2)
};`,
  },
  {
    id: 'quarantined-snapshot',
    doc: 'contains suspected poisoning: a quarantined snapshot is not exported, approved, promoted, released or pushed past its gate',
    text: `@id("quarantined-snapshot")
forbid (principal, ${actionIn(['export', 'overrideGate', 'release', 'approve', 'promote'])}, resource)
when { resource.quarantined };`,
  },
  {
    id: 'export-needs-gate',
    doc: 'keeps unvetted data out of training: a snapshot is exported only after it passed its gate; an owner overrides a gate with the separate overrideGate action',
    text: `@id("export-needs-gate")
forbid (principal, ${actionIn(['export'])}, resource)
when { !resource.gatePassed };`,
  },
  {
    id: 'four-eyes-quarantine-lift',
    doc: 'separates duties: whoever placed a quarantine cannot lift it; a second person must',
    text: `@id("four-eyes-quarantine-lift")
forbid (principal, ${actionIn(['liftQuarantine', 'liftSourceQuarantine'])}, resource)
when { context.placedBy == principal.name };`,
  },
];

/** The policies Cordon always enforces, permits first. Users' policy files are added to these. */
export const DEFAULT_POLICIES: readonly DefaultPolicy[] = [...PERMITS, ...FORBIDS];
