import type { Scope } from '../../core/tokens.js';

/**
 * The vocabulary of authorization: what a principal can ask to do, on which kind of resource, and
 * which API-token scope the request needs. The Cedar schema (`schema.ts`) is generated from these
 * tables, so the TypeScript side and the Cedar side cannot drift apart.
 */

export const ACTIONS = [
  // resource Workspace (manageTokens: resource Identity; readAudit: Workspace or one Dataset)
  'createDataset',
  'manageIdentities',
  'manageTokens',
  'managePolicies',
  'grantRoles',
  'readAudit',
  // resource Dataset. 'ingest' is any content change: ingest, append, transform or merge output,
  // and a review-derived snapshot that drops rows.
  'read',
  'ingest',
  'rollback',
  'tag',
  'configureDataset',
  // resource LabelSet: a change that touches labels only
  'relabel',
  // resource Source
  'manageSources',
  'quarantineSource',
  'liftSourceQuarantine',
  // resource Snapshot
  'scan',
  'gate',
  'export',
  'overrideGate',
  'release',
  'review',
  'quarantine',
  'liftQuarantine',
  // resource ChangeRequest: a snapshot's request to become approved
  'approve',
  'promote',
] as const;

export type Action = (typeof ACTIONS)[number];

export type Role =
  'owner' | 'steward' | 'contributor' | 'labeler' | 'trainer' | 'auditor' | 'admin';

/** Dataset roles first (each can be granted on one dataset or on '*'), then the workspace role. */
export const ROLES: readonly Role[] = [
  'owner',
  'steward',
  'contributor',
  'labeler',
  'trainer',
  'auditor',
  'admin',
];

/** The roles that are granted per dataset (or on every dataset with '*'). */
export const DATASET_ROLES: readonly Exclude<Role, 'admin'>[] = [
  'owner',
  'steward',
  'contributor',
  'labeler',
  'trainer',
  'auditor',
];

// Scopes are defined with the token format (core/tokens.ts); actions map onto them here.
export { SCOPES, type Scope } from '../../core/tokens.js';

/** The token scope each action needs when the credential is an API token. */
export const ACTION_SCOPES: Record<Action, Scope> = {
  read: 'datasets:read',
  createDataset: 'datasets:write',
  ingest: 'datasets:write',
  rollback: 'datasets:write',
  tag: 'datasets:write',
  configureDataset: 'datasets:write',
  manageSources: 'datasets:write',
  relabel: 'labels:write',
  scan: 'scans:write',
  review: 'reviews:write',
  approve: 'approvals:write',
  promote: 'approvals:write',
  release: 'approvals:write',
  gate: 'gates:write',
  export: 'snapshots:export',
  overrideGate: 'snapshots:export',
  quarantine: 'quarantine:write',
  liftQuarantine: 'quarantine:write',
  quarantineSource: 'quarantine:write',
  liftSourceQuarantine: 'quarantine:write',
  manageIdentities: 'identities:admin',
  manageTokens: 'identities:admin',
  grantRoles: 'identities:admin',
  managePolicies: 'policies:admin',
  readAudit: 'audit:read',
};

export const RESOURCE_TYPES = [
  'Workspace',
  'Identity',
  'Dataset',
  'LabelSet',
  'Source',
  'Snapshot',
  'ChangeRequest',
] as const;

export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** The resource types each action applies to; a request on any other type is refused. */
export const ACTION_RESOURCES: Record<Action, readonly ResourceType[]> = {
  createDataset: ['Workspace'],
  manageIdentities: ['Workspace'],
  managePolicies: ['Workspace'],
  grantRoles: ['Workspace'],
  readAudit: ['Workspace', 'Dataset'],
  manageTokens: ['Identity'],
  read: ['Dataset'],
  ingest: ['Dataset'],
  rollback: ['Dataset'],
  tag: ['Dataset'],
  configureDataset: ['Dataset'],
  relabel: ['LabelSet'],
  manageSources: ['Source'],
  quarantineSource: ['Source'],
  liftSourceQuarantine: ['Source'],
  scan: ['Snapshot'],
  gate: ['Snapshot'],
  export: ['Snapshot'],
  overrideGate: ['Snapshot'],
  release: ['Snapshot'],
  review: ['Snapshot'],
  quarantine: ['Snapshot'],
  liftQuarantine: ['Snapshot'],
  approve: ['ChangeRequest'],
  promote: ['ChangeRequest'],
};

export function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
