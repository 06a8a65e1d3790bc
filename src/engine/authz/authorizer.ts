import { createHash } from 'node:crypto';
import {
  policySetTextToParts,
  policyToJson,
  preparsePolicySet,
  preparseSchema,
  statefulIsAuthorized,
  validate,
  type CedarValueJson,
  type DetailedError,
  type EntityJson,
  type EntityUidJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import { CordonError } from '../../core/errors.js';
import {
  ACTION_RESOURCES,
  ACTION_SCOPES,
  DATASET_ROLES,
  isAction,
  type Action,
  type Role,
} from './actions.js';
import { DEFAULT_POLICIES } from './default-policies.js';
import { CEDAR_NAMESPACE } from './schema.js';
import { CEDAR_SCHEMA_JSON } from './schema-json.js';

export interface PrincipalFacts {
  type: 'Human' | 'ServiceAccount';
  name: string;
  disabled: boolean;
  /** A service account's owners (human names); empty for humans. */
  owners: string[];
  groups: string[];
}

export interface CredentialFacts {
  kind: 'key' | 'token';
  id: string;
  scopes: string[];
  /** RFC 3339; null when the credential does not expire. */
  expiresAt: string | null;
  revoked: boolean;
  quarantined: boolean;
}

export interface Grant {
  subject: { type: 'Human' | 'ServiceAccount' | 'Group'; name: string };
  role: Role;
  /** A dataset name, or '*' for every dataset (the only form the admin role takes). */
  dataset: string;
}

export interface DatasetFacts {
  name: string;
  externallySourced: boolean;
  highImpact: boolean;
}

export interface SnapshotFacts {
  id: string;
  state: 'draft' | 'scanned' | 'approved' | 'released' | 'quarantined';
  author: string;
  /** The author if human, else the authoring bot's owners. */
  accountableHumans: string[];
  quarantined: boolean;
  gatePassed: boolean;
  integrityVerified: boolean;
}

export type ResourceFacts =
  | { type: 'Workspace' }
  | { type: 'Identity'; identity: { name: string; kind: 'human' | 'service'; owners: string[] } }
  | { type: 'Dataset'; dataset: DatasetFacts }
  | { type: 'LabelSet'; dataset: DatasetFacts }
  | {
      type: 'Source';
      dataset: DatasetFacts;
      source: {
        name: string;
        trusted: boolean;
        quarantined: boolean;
        quarantinedBy: string | null;
      };
    }
  | {
      type: 'Snapshot';
      dataset: DatasetFacts;
      snapshot: SnapshotFacts;
      quarantinedBy?: string | null;
    }
  | { type: 'ChangeRequest'; dataset: DatasetFacts; snapshot: SnapshotFacts };

export interface AuthzRequest {
  principal: PrincipalFacts;
  credential: CredentialFacts;
  action: Action;
  resource: ResourceFacts;
  grants: readonly Grant[];
  /** RFC 3339 */
  now: string;
  /** Distinct humans with a verified approval of the current digest who are not accountable. */
  independentApprovals?: number;
  /** max(dataset setting, 2 if externally sourced or high impact); 1 when omitted. */
  requiredApprovals?: number;
}

export interface AuthzDecision {
  allowed: boolean;
  action: Action;
  /** ids of the policies that determined the decision ([] = default deny) */
  policies: string[];
  /** one readable sentence: why allowed/denied, naming the policies (and, for forbids, what they protect) */
  reason: string;
}

export interface PolicyFile {
  file: string;
  text: string;
}

/** One policy of the effective set, with where it came from. */
export interface LoadedPolicy {
  id: string;
  effect: 'permit' | 'forbid';
  /** The user's file, or DEFAULT_POLICIES_FILE. */
  file: string;
  /** The policy's text exactly as written. */
  text: string;
  /** From DEFAULT_POLICIES, or a user policy's `@doc("…")` annotation. */
  doc: string | null;
}

/** The name default policies carry in messages and in `LoadedPolicy.file`. */
export const DEFAULT_POLICIES_FILE = '(cordon default policies)';

/** A credential without an expiry is treated as expiring at the end of Cedar's datetime range. */
const FAR_FUTURE = '9999-12-31T23:59:59.999Z';
const SCHEMA_NAME = 'cordon-authz-schema';
const WORKSPACE_ID = 'workspace';
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

let schemaPrepared = false;
/**
 * The shipped default policies are constants validated by the test suite
 * (authorizer.test.ts); at run time they are validated only when asked (`checkDefaults`) and then
 * once per process. Validation costs a schema parse, which the CLI would pay on every command.
 */
let defaultsValidated = false;
/** Policy sets already in Cedar's per-thread cache, by id (the id carries the set's digest). */
const preparsedSets = new Set<string>();

/** Parses the schema into Cedar's per-thread cache once, so requests do not re-parse it. */
function prepareSchema(): void {
  if (schemaPrepared) return;
  const answer = preparseSchema(SCHEMA_NAME, CEDAR_SCHEMA_JSON);
  if (answer.type === 'failure') {
    throw new CordonError(
      'POLICY_INVALID',
      `the authorization schema does not parse: ${answer.errors.map(describeError).join('; ')}`,
    );
  }
  schemaPrepared = true;
}

function describeError(error: DetailedError): string {
  return error.help ? `${error.message} (${error.help})` : error.message;
}

/** 1-based line and column of a character offset. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return `${lines.length}:${(lines.at(-1)?.length ?? 0) + 1}`;
}

function where(file: string, text: string, offset: number | undefined): string {
  return offset === undefined ? file : `${file}:${lineColumn(text, offset)}`;
}

interface PolicyEntry extends LoadedPolicy {
  /** The whole file the policy came from, and the policy's offset in it, for error positions. */
  fileText: string;
  offset: number;
  /** Whether the text carries its own `@id` annotation. */
  annotated: boolean;
}

/** Cedar string literal for an id: quotes and backslashes escaped, control characters dropped. */
function cedarString(value: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '');
  return `"${clean.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function splitUserFile(
  file: PolicyFile,
  problems: string[],
): {
  /** 1-based position of the policy in its file. */
  n: number;
  id: string | null;
  text: string;
  offset: number;
  effect: 'permit' | 'forbid';
  doc: string | null;
}[] {
  const parts = policySetTextToParts(file.text);
  if (parts.type === 'failure') {
    for (const error of parts.errors) {
      const location = error.sourceLocations?.[0];
      const label = location?.label ? `: ${location.label}` : '';
      problems.push(`${where(file.file, file.text, location?.start)}: ${error.message}${label}`);
    }
    return [];
  }
  if (parts.policy_templates.length > 0) {
    problems.push(
      `${file.file}: policy templates (policies with ?principal or ?resource slots) are not supported`,
    );
  }
  const out = [];
  let cursor = 0;
  for (const [index, text] of parts.policies.entries()) {
    // Cedar hands back each policy as a slice of the file, so its position can be found again.
    const found = file.text.indexOf(text, cursor);
    const offset = found >= 0 ? found : cursor;
    cursor = found >= 0 ? found + text.length : cursor;
    const json = policyToJson(text);
    if (json.type === 'failure') {
      for (const error of json.errors) {
        problems.push(`${where(file.file, file.text, offset)}: ${describeError(error)}`);
      }
      continue;
    }
    const annotations = json.json.annotations ?? {};
    const id = annotations['id'] ?? null;
    if (id !== null && id.trim() === '') {
      problems.push(`${where(file.file, file.text, offset)}: @id must not be empty`);
      continue;
    }
    out.push({
      n: index + 1,
      id,
      text,
      offset,
      effect: json.json.effect,
      doc: annotations['doc'] ?? null,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Entities

type Uid = { type: string; id: string };

function uid(type: string, id: string): Uid {
  return { type: `${CEDAR_NAMESPACE}::${type}`, id };
}

function ref(type: string, id: string): CedarValueJson {
  return { __entity: uid(type, id) };
}

function humans(names: readonly string[]): CedarValueJson {
  return [...new Set(names)].map((name) => ref('Human', name));
}

function datetime(value: string): CedarValueJson {
  return { __extn: { fn: 'datetime', arg: value } };
}

/** RFC 3339 → the one form Cedar's datetime accepts for every offset (UTC, milliseconds). */
function toCedarDatetime(value: string): string | null {
  if (!RFC3339.test(value)) return null;
  const ms = Date.parse(value.replace(' ', 'T'));
  if (!Number.isFinite(ms)) return null;
  const iso = new Date(ms).toISOString();
  return /^\d{4}-/.test(iso) ? iso : null;
}

const ROLE_ATTRIBUTES: Record<Exclude<Role, 'admin'>, string> = {
  owner: 'owners',
  steward: 'stewards',
  contributor: 'contributors',
  labeler: 'labelers',
  trainer: 'trainers',
  auditor: 'auditors',
};

function datasetOf(resource: ResourceFacts): DatasetFacts | null {
  return 'dataset' in resource ? resource.dataset : null;
}

/** The role entity a grant confers for this request, or null when it does not bear on it. */
function grantedRole(grant: Grant, dataset: DatasetFacts | null): string | null {
  if (grant.role === 'admin') return grant.dataset === '*' ? 'admin' : null;
  if (grant.dataset === '*') return `*/${grant.role}`;
  if (dataset && grant.dataset === dataset.name) return `${dataset.name}/${grant.role}`;
  return null;
}

function buildEntities(request: AuthzRequest): { entities: EntityJson[]; resource: Uid } {
  const { principal, resource } = request;
  const dataset = datasetOf(resource);
  const groups = new Set(principal.groups);
  const principalRoles = new Set<string>();
  const groupRoles = new Map<string, Set<string>>([...groups].map((g) => [g, new Set<string>()]));
  for (const grant of request.grants) {
    const role = grantedRole(grant, dataset);
    if (role === null) continue;
    const { type, name } = grant.subject;
    if (type === 'Group') groupRoles.get(name)?.add(role);
    else if (type === principal.type && name === principal.name) principalRoles.add(role);
  }
  const roleRefs = (roles: Iterable<string>): EntityUidJson[] =>
    [...roles].map((r) => uid('Role', r));

  const entities: EntityJson[] = [];
  const principalAttrs: Record<string, CedarValueJson> = {
    name: principal.name,
    disabled: principal.disabled,
  };
  if (principal.type === 'ServiceAccount') principalAttrs['owners'] = humans(principal.owners);
  entities.push({
    uid: uid(principal.type, principal.name),
    attrs: principalAttrs,
    parents: [...groups]
      .map((g) => uid('Group', g) as EntityUidJson)
      .concat(roleRefs(principalRoles)),
  });
  for (const [group, roles] of groupRoles) {
    entities.push({ uid: uid('Group', group), attrs: {}, parents: roleRefs(roles) });
  }

  // Membership tests need only entity ids, so a role appears as an entity only where it has a
  // parent: an all-dataset role the principal holds sits inside the requested dataset's role.
  if (dataset) {
    const held = new Set([...principalRoles, ...[...groupRoles.values()].flatMap((r) => [...r])]);
    for (const role of DATASET_ROLES) {
      if (!held.has(`*/${role}`)) continue;
      entities.push({
        uid: uid('Role', `*/${role}`),
        attrs: {},
        parents: [uid('Role', `${dataset.name}/${role}`)],
      });
    }
  }
  const workspace = uid('Workspace', WORKSPACE_ID);
  if (resource.type === 'Workspace') {
    // Only the workspace itself needs its attributes; elsewhere it is just a parent id.
    const attrs: Record<string, CedarValueJson> = { admins: ref('Role', 'admin') };
    for (const role of DATASET_ROLES) attrs[ROLE_ATTRIBUTES[role]] = ref('Role', `*/${role}`);
    entities.push({ uid: workspace, attrs, parents: [] });
    return { entities, resource: workspace };
  }
  if (resource.type === 'Identity') {
    const { identity } = resource;
    const self = uid('Identity', identity.name);
    entities.push({
      uid: self,
      attrs: { name: identity.name, kind: identity.kind, owners: humans(identity.owners) },
      parents: [workspace],
    });
    return { entities, resource: self };
  }

  const ds = resource.dataset;
  const datasetUid = uid('Dataset', ds.name);
  const datasetRef: CedarValueJson = { __entity: datasetUid };
  const datasetAttrs: Record<string, CedarValueJson> = {
    name: ds.name,
    dataset: datasetRef,
    externallySourced: ds.externallySourced,
    highImpact: ds.highImpact,
  };
  for (const role of DATASET_ROLES) {
    datasetAttrs[ROLE_ATTRIBUTES[role]] = ref('Role', `${ds.name}/${role}`);
  }
  entities.push({ uid: datasetUid, attrs: datasetAttrs, parents: [workspace] });

  switch (resource.type) {
    case 'Dataset':
      return { entities, resource: datasetUid };
    case 'LabelSet': {
      const self = uid('LabelSet', ds.name);
      entities.push({ uid: self, attrs: { dataset: datasetRef }, parents: [datasetUid] });
      return { entities, resource: self };
    }
    case 'Source': {
      const { source } = resource;
      const self = uid('Source', `${ds.name}/${source.name}`);
      entities.push({
        uid: self,
        attrs: {
          dataset: datasetRef,
          name: source.name,
          trusted: source.trusted,
          quarantined: source.quarantined,
        },
        parents: [datasetUid],
      });
      return { entities, resource: self };
    }
    case 'Snapshot':
    case 'ChangeRequest': {
      const snap = resource.snapshot;
      const quarantined = snap.quarantined || snap.state === 'quarantined';
      const shared: Record<string, CedarValueJson> = {
        dataset: datasetRef,
        accountableHumans: humans(snap.accountableHumans),
        quarantined,
        gatePassed: snap.gatePassed,
        integrityVerified: snap.integrityVerified,
        externallySourced: ds.externallySourced,
        highImpact: ds.highImpact,
      };
      const snapshotUid = uid('Snapshot', snap.id);
      entities.push({
        uid: snapshotUid,
        attrs: { ...shared, id: snap.id, state: snap.state, author: snap.author },
        parents: [datasetUid],
      });
      if (resource.type === 'Snapshot') return { entities, resource: snapshotUid };
      const self = uid('ChangeRequest', snap.id);
      entities.push({
        uid: self,
        attrs: { ...shared, snapshot: { __entity: snapshotUid } },
        parents: [datasetUid],
      });
      return { entities, resource: self };
    }
  }
}

function placedBy(resource: ResourceFacts): string {
  if (resource.type === 'Source') return resource.source.quarantinedBy ?? '';
  if (resource.type === 'Snapshot') return resource.quarantinedBy ?? '';
  return '';
}

// ---------------------------------------------------------------------------------------------
// Reasons

function describePrincipal(p: PrincipalFacts): string {
  return `${p.type === 'Human' ? 'human' : 'service account'} "${p.name}"`;
}

function describeResource(r: ResourceFacts): string {
  switch (r.type) {
    case 'Workspace':
      return 'the workspace';
    case 'Identity':
      return `${r.identity.kind === 'human' ? 'human' : 'service account'} identity "${r.identity.name}"`;
    case 'Dataset':
      return `dataset "${r.dataset.name}"`;
    case 'LabelSet':
      return `the labels of dataset "${r.dataset.name}"`;
    case 'Source':
      return `source "${r.source.name}" of dataset "${r.dataset.name}"`;
    case 'Snapshot':
      return `snapshot "${r.snapshot.id}" of dataset "${r.dataset.name}"`;
    case 'ChangeRequest':
      return `the change request of snapshot "${r.snapshot.id}" in dataset "${r.dataset.name}"`;
  }
}

function listPhrase(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function stripPeriod(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}

// ---------------------------------------------------------------------------------------------

export class Authorizer {
  /** Every policy in effect: the defaults first, then the users' in file order. */
  readonly policies: readonly LoadedPolicy[];
  readonly policyIds: string[];
  /** The effective policy set as one Cedar text, every policy carrying its `@id`. */
  readonly text: string;
  /** Digest (sha256 hex) of the effective policy set text, for audit records. */
  readonly digest: string;
  /** Cedar's validation warnings (they do not stop the load). */
  readonly warnings: string[];

  private readonly byId: ReadonlyMap<string, LoadedPolicy>;
  private readonly policySetId: string;

  private constructor(policies: LoadedPolicy[], text: string, warnings: string[]) {
    this.policies = policies;
    this.policyIds = policies.map((p) => p.id);
    this.byId = new Map(policies.map((p) => [p.id, p]));
    this.text = text;
    this.digest = createHash('sha256').update(this.text, 'utf8').digest('hex');
    this.warnings = warnings;
    this.policySetId = `cordon-${this.digest}`;
    if (!preparsedSets.has(this.policySetId)) {
      const staticPolicies = Object.fromEntries(policies.map((p) => [p.id, p.text]));
      const answer = preparsePolicySet(this.policySetId, { staticPolicies });
      if (answer.type === 'failure') {
        throw new CordonError(
          'POLICY_INVALID',
          `the authorization policies do not parse: ${answer.errors.map(describeError).join('; ')}`,
        );
      }
      preparsedSets.add(this.policySetId);
    }
  }

  /**
   * Parses and strictly validates the schema, the default policies and the user's policies.
   * Throws CordonError('POLICY_INVALID') naming the file and carrying Cedar's own validation
   * messages, listing all problems at once. Users' policies get ids from their @id annotation,
   * else `<file>#<n>`; duplicate ids are rejected. The shipped defaults are validated too when
   * `checkDefaults` is set (the tests do; see `defaultsValidated`).
   */
  static load(
    userPolicies: readonly PolicyFile[] = [],
    options: { checkDefaults?: boolean } = {},
  ): Authorizer {
    prepareSchema();
    const problems: string[] = [];
    const entries: PolicyEntry[] = DEFAULT_POLICIES.map((p) => ({
      id: p.id,
      effect: /^\s*forbid\b/m.test(p.text) ? 'forbid' : 'permit',
      file: DEFAULT_POLICIES_FILE,
      text: p.text,
      doc: p.doc,
      fileText: p.text,
      offset: 0,
      annotated: true,
    }));
    const seen = new Map<string, string>(entries.map((e) => [e.id, e.file]));
    for (const file of userPolicies) {
      for (const part of splitUserFile(file, problems)) {
        const id = part.id ?? `${file.file}#${part.n}`;
        const earlier = seen.get(id);
        if (earlier !== undefined) {
          problems.push(
            `${where(file.file, file.text, part.offset)}: duplicate policy id "${id}" (already used in ${earlier})`,
          );
          continue;
        }
        seen.set(id, file.file);
        entries.push({
          id,
          effect: part.effect,
          file: file.file,
          text: part.text,
          doc: part.doc,
          fileText: file.text,
          offset: part.offset,
          annotated: part.id !== null,
        });
      }
    }

    // Validation is per policy, so the defaults need checking only once per process.
    const warnings: string[] = [];
    const toValidate =
      options.checkDefaults === true && !defaultsValidated
        ? entries
        : entries.filter((e) => e.file !== DEFAULT_POLICIES_FILE);
    if (toValidate.length > 0) {
      const answer = validate({
        schema: CEDAR_SCHEMA_JSON,
        policies: { staticPolicies: Object.fromEntries(toValidate.map((e) => [e.id, e.text])) },
        validationSettings: { mode: 'strict' },
      });
      if (answer.type === 'failure') {
        problems.push(...answer.errors.map((e) => `validation failed: ${describeError(e)}`));
      } else {
        const byId = new Map(toValidate.map((e) => [e.id, e]));
        const locate = (policyId: string, error: DetailedError): string => {
          const entry = byId.get(policyId);
          if (!entry) return describeError(error);
          const start = error.sourceLocations?.[0]?.start;
          const offset = start === undefined ? entry.offset : entry.offset + start;
          return `${where(entry.file, entry.fileText, offset)}: ${describeError(error)}`;
        };
        for (const { policyId, error } of answer.validationErrors) {
          problems.push(locate(policyId, error));
        }
        for (const { policyId, error } of answer.validationWarnings) {
          warnings.push(locate(policyId, error));
        }
        warnings.push(...answer.otherWarnings.map(describeError));
        const defaultsFailed = answer.validationErrors.some(
          (e) => byId.get(e.policyId)?.file === DEFAULT_POLICIES_FILE,
        );
        if (!defaultsFailed) defaultsValidated = true;
      }
    }

    if (problems.length > 0) {
      const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
      throw new CordonError(
        'POLICY_INVALID',
        `authorization policies are invalid (${count}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    }
    const effective = entries
      .map((e) => (e.annotated ? e.text : `@id(${cedarString(e.id)})\n${e.text}`))
      .join('\n\n');
    return new Authorizer(
      entries.map(({ id, effect, file, text, doc }) => ({ id, effect, file, text, doc })),
      `${effective}\n`,
      warnings,
    );
  }

  /** Decides one request. Synchronous; denies by default and whenever Cedar reports an error. */
  authorize(request: AuthzRequest): AuthzDecision {
    const { action, resource, principal } = request;
    const who = describePrincipal(principal);
    const what = `${action} ${describeResource(resource)}`;
    const deny = (policies: string[], reason: string): AuthzDecision => ({
      allowed: false,
      action,
      policies,
      reason,
    });

    if (!isAction(action)) return deny([], `Denied: "${String(action)}" is not a Cordon action.`);
    const allowedTypes = ACTION_RESOURCES[action];
    if (!allowedTypes.includes(resource.type)) {
      return deny(
        [],
        `Denied: ${action} applies to ${listPhrase(allowedTypes.map((t) => `a ${t}`))}, not to ${describeResource(resource)}.`,
      );
    }
    const dataset = datasetOf(resource);
    if (dataset?.name === '*') return deny([], `Denied: "*" is not a dataset name.`);
    const now = toCedarDatetime(request.now);
    if (now === null)
      return deny([], `Denied: the request time "${request.now}" is not an RFC 3339 timestamp.`);
    const { credential } = request;
    const expiresAt =
      credential.expiresAt === null ? FAR_FUTURE : toCedarDatetime(credential.expiresAt);
    if (expiresAt === null) {
      return deny(
        [],
        `Denied: credential "${credential.id}" expires at "${credential.expiresAt}", which is not an RFC 3339 timestamp.`,
      );
    }

    const { entities, resource: resourceUid } = buildEntities(request);
    const answer = statefulIsAuthorized({
      principal: uid(principal.type, principal.name),
      action: uid('Action', action),
      resource: resourceUid,
      context: {
        credential: {
          kind: credential.kind,
          id: credential.id,
          scopes: [...new Set(credential.scopes)],
          expiresAt: datetime(expiresAt),
          revoked: credential.revoked,
          quarantined: credential.quarantined,
        },
        now: datetime(now),
        scope: ACTION_SCOPES[action],
        independentApprovals: request.independentApprovals ?? 0,
        requiredApprovals: request.requiredApprovals ?? 1,
        placedBy: placedBy(resource),
      },
      preparsedSchemaName: SCHEMA_NAME,
      preparsedPolicySetId: this.policySetId,
      validateRequest: true,
      entities,
    });

    if (answer.type === 'failure') {
      return deny(
        [],
        `Denied: the request of ${who} to ${what} does not fit the authorization schema (${answer.errors.map(describeError).join('; ')}).`,
      );
    }
    const { decision, diagnostics } = answer.response;
    const determining = diagnostics.reason;
    if (diagnostics.errors.length > 0) {
      // Cedar skips a policy whose evaluation fails; Cordon fails closed instead.
      const failed = diagnostics.errors.map((e) => `"${e.policyId}" (${describeError(e.error)})`);
      const errored = [...new Set(diagnostics.errors.map((e) => e.policyId))];
      const forbids = decision === 'deny' ? determining : [];
      return deny(
        [...forbids, ...errored.filter((id) => !forbids.includes(id))],
        `Denied: ${who} may not ${what}: ${failed.length === 1 ? 'policy' : 'policies'} ${listPhrase(failed)} could not be evaluated, and an evaluation error denies.`,
      );
    }
    if (decision === 'allow') {
      return {
        allowed: true,
        action,
        policies: determining,
        reason: `Allowed: ${who} may ${what} under ${this.phrase(determining)}.`,
      };
    }
    if (determining.length === 0) {
      return deny([], `Denied: no policy permits ${who} to ${what}.`);
    }
    return deny(
      determining,
      `Denied: ${who} may not ${what}: forbidden by ${this.phrase(determining)}.`,
    );
  }

  /** `policy "a" (doc)` or `policies "a" (doc) and "b" (doc)`. */
  private phrase(ids: readonly string[]): string {
    const items = ids.map((id) => {
      const policy = this.byId.get(id);
      const doc = policy?.doc ?? (policy ? `from ${policy.file}` : null);
      return doc === null ? `"${id}"` : `"${id}" (${stripPeriod(doc)})`;
    });
    return `${items.length === 1 ? 'policy' : 'policies'} ${listPhrase(items)}`;
  }
}
