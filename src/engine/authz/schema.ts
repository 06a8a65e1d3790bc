import { ACTION_RESOURCES, ACTIONS, type Action } from './actions.js';

/** The Cedar namespace every Cordon entity type and action lives in. */
export const CEDAR_NAMESPACE = 'Cordon';

// Entity types and the request context, in Cedar's human-readable schema syntax.
//
// Roles are entities: a grant of `steward` on dataset `spam` makes the subject a member of
// `Role::"spam/steward"`; a grant on every dataset makes it a member of `Role::"*/steward"`, which
// the authorizer places inside the requested dataset's role for that one request. The workspace
// role is `Role::"admin"`. Every dataset-scoped resource (the Dataset included) carries a `dataset`
// attribute, so one policy reads `principal in resource.dataset.stewards` for all of them.
const ENTITIES = `// Cordon authorization schema (Cedar human-readable syntax).
namespace ${CEDAR_NAMESPACE} {
  // The credential a request was made with. kind is "key" (signing key) or "token" (API token);
  // a credential that never expires carries a far-future expiresAt.
  type Credential = {
    kind: String,
    id: String,
    scopes: Set<String>,
    expiresAt: datetime,
    revoked: Bool,
    quarantined: Bool,
  };

  type RequestContext = {
    credential: Credential,
    now: datetime,
    // the token scope the action needs (checked when credential.kind is "token")
    scope: String,
    // distinct humans with a verified approval of the current digest who are not accountable for it
    independentApprovals: Long,
    requiredApprovals: Long,
    // who placed the quarantine being lifted ("" when not lifting one)
    placedBy: String,
  };

  // "<dataset>/<role>", "*/<role>" or "admin"
  entity Role in [Role];
  entity Group in [Role];
  entity Human in [Group, Role] {
    name: String,
    disabled: Bool,
  };
  entity ServiceAccount in [Group, Role] {
    name: String,
    disabled: Bool,
    owners: Set<Human>,
  };

  // The roles held on every dataset ("*/<role>") and the admin role.
  entity Workspace {
    admins: Role,
    owners: Role,
    stewards: Role,
    contributors: Role,
    labelers: Role,
    trainers: Role,
    auditors: Role,
  };

  // A human or a service account, as the target of token management. kind is "human" or "service".
  entity Identity in [Workspace] {
    name: String,
    kind: String,
    owners: Set<Human>,
  };

  entity Dataset in [Workspace] {
    name: String,
    dataset: Dataset,
    owners: Role,
    stewards: Role,
    contributors: Role,
    labelers: Role,
    trainers: Role,
    auditors: Role,
    externallySourced: Bool,
    highImpact: Bool,
  };

  entity LabelSet in [Dataset] {
    dataset: Dataset,
  };

  entity Source in [Dataset] {
    dataset: Dataset,
    name: String,
    trusted: Bool,
    quarantined: Bool,
  };

  // state is one of "draft", "scanned", "approved", "released", "quarantined".
  // accountableHumans: the author if human, else the authoring service account's owners.
  entity Snapshot in [Dataset] {
    dataset: Dataset,
    id: String,
    state: String,
    author: String,
    accountableHumans: Set<Human>,
    quarantined: Bool,
    gatePassed: Bool,
    integrityVerified: Bool,
    externallySourced: Bool,
    highImpact: Bool,
  };

  // A snapshot's request to become approved.
  entity ChangeRequest in [Dataset] {
    dataset: Dataset,
    snapshot: Snapshot,
    accountableHumans: Set<Human>,
    quarantined: Bool,
    gatePassed: Bool,
    integrityVerified: Bool,
    externallySourced: Bool,
    highImpact: Bool,
  };
`;

function actionDeclarations(): string {
  // Group the actions by the resource types they apply to, keeping the order of ACTIONS.
  const groups = new Map<string, Action[]>();
  for (const action of ACTIONS) {
    const key = ACTION_RESOURCES[action].join(', ');
    const list = groups.get(key);
    if (list) list.push(action);
    else groups.set(key, [action]);
  }
  const lines: string[] = [];
  for (const [resources, actions] of groups) {
    lines.push(
      `  action ${actions.map((a) => `"${a}"`).join(', ')} appliesTo {`,
      `    principal: [Human, ServiceAccount],`,
      `    resource: [${resources}],`,
      `    context: RequestContext,`,
      `  };`,
    );
  }
  return lines.join('\n');
}

/** The complete schema the policies are validated against and every request is checked with. */
export const CEDAR_SCHEMA = `${ENTITIES}\n${actionDeclarations()}\n}\n`;
