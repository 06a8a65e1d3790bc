import type { Generated } from 'kysely';

/** Tables behind Cordon's metadata. Times are RFC 3339 strings in UTC; JSON columns are text. */
export interface Database {
  datasets: DatasetTable;
  snapshots: SnapshotTable;
  tags: TagTable;
  events: EventTable;
  lineage_runs: LineageRunTable;
  identities: IdentityTable;
  scans: ScanTable;
  checkpoints: CheckpointTable;
  tokens: TokenTable;
  grants: GrantTable;
  group_members: GroupMemberTable;
  dataset_settings: DatasetSettingsTable;
  sources: SourceTable;
  snapshot_states: SnapshotStateTable;
  approvals: ApprovalTable;
  gate_runs: GateRunTable;
  quarantines: QuarantineTable;
  review_items: ReviewItemTable;
}

/** A signed checkpoint of the audit log: its first `size` events hash to `root` (RFC 9162). */
export interface CheckpointTable {
  size: number;
  root: string; // hex
  note: string; // the signed note (C2SP signed-note format)
  created_at: string;
}

export interface ScanTable {
  id: string; // SHA-256 of the signed scan statement
  snapshot_id: string;
  report_digest: string; // the JSON report, stored as an object
  envelope_digest: string;
  actor: string;
  created_at: string;
  summary: string; // JSON: counts, triggers, suspicious sources
}

export interface DatasetTable {
  name: string;
  head: string | null;
  created_at: string;
  created_by: string;
}

export interface SnapshotTable {
  id: string; // SHA-256 of the signed statement
  dataset: string;
  version: number;
  stage: string;
  root: string;
  record_count: number;
  manifest_digest: string;
  envelope_digest: string;
  parents: string; // JSON array of snapshot ids
  author: string;
  author_key_id: string;
  created_at: string;
  message: string;
}

export interface TagTable {
  snapshot_id: string;
  tag: string;
  actor: string;
  created_at: string;
}

export interface EventTable {
  seq: Generated<number>;
  time: string;
  actor: string;
  kind: string;
  dataset: string | null;
  snapshot_id: string | null;
  detail: string; // JSON
}

export interface LineageRunTable {
  id: string;
  kind: string; // ingest | transform | merge
  output_snapshot: string;
  inputs: string; // JSON array of snapshot ids
  command: string | null;
  code_digest: string | null;
  params: string; // JSON object
  actor: string;
  started_at: string;
  finished_at: string;
  envelope_digest: string; // signed SLSA provenance
}

export interface IdentityTable {
  name: string;
  kind: string; // human | service
  key_id: string;
  public_key: string; // PEM
  created_at: string;
  owners: string; // JSON array of human names (service accounts); '[]' for humans
  disabled_at: string | null;
  disabled_by: string | null;
  /** Why the identity needs attention, e.g. "owner alice offboarded"; null when fine. */
  flag: string | null;
}

/** An API token. Only the SHA-256 of the token is kept; `last4` is for display. */
export interface TokenTable {
  key_id: string; // the public part of the token, used to find it
  identity: string;
  kind: string; // nhi | pat
  env: string; // live | test
  hash: string; // hex SHA-256 of the whole token
  last4: string;
  scopes: string; // JSON array
  used_scopes: string; // JSON array: scopes this token has exercised
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  revoke_reason: string | null;
  rotated_from: string | null; // key id of the token this one replaced
  last_used_at: string | null;
  last_used_agent: string | null;
  last_used_interactive: number; // 0 | 1
}

/** A role binding: `subject` holds `role` on `dataset` ('*' = every dataset). */
export interface GrantTable {
  subject_type: string; // Human | ServiceAccount | Group
  subject: string;
  role: string;
  dataset: string;
  created_at: string;
  created_by: string;
}

export interface GroupMemberTable {
  group_name: string;
  member: string; // identity name
  created_at: string;
}

export interface DatasetSettingsTable {
  dataset: string;
  high_impact: number; // 0 | 1
  externally_sourced: number; // 0 | 1
  required_approvals: number;
  review_threshold: number; // findings scoring at least this become review items
  updated_at: string;
  updated_by: string;
}

/** A source known to a dataset, and whether it is trusted and where it comes from. */
export interface SourceTable {
  dataset: string;
  name: string;
  trusted: number; // 0 | 1
  external: number; // 0 | 1
  created_at: string;
  created_by: string;
}

/** The governance state of a snapshot: draft → scanned → approved → released (or quarantined). */
export interface SnapshotStateTable {
  snapshot_id: string;
  state: string;
  updated_at: string;
  updated_by: string;
}

/** A signed approval (DSSE envelope stored as an object) of one snapshot root. */
export interface ApprovalTable {
  id: string; // SHA-256 of the envelope bytes
  snapshot_id: string;
  root: string;
  approver: string;
  approver_key_id: string;
  envelope_digest: string;
  submitted_by: string;
  created_at: string;
}

/** One gate evaluation with its signed verdict (SVR statement in a DSSE envelope object). */
export interface GateRunTable {
  id: string; // SHA-256 of the verdict statement
  snapshot_id: string;
  passed: number; // 0 | 1
  policy_digest: string;
  envelope_digest: string;
  checks: string; // JSON
  actor: string;
  created_at: string;
}

export interface QuarantineTable {
  id: string;
  kind: string; // snapshot | source | token
  target: string; // snapshot id, source name or token key id
  dataset: string | null;
  reason: string;
  placed_by: string;
  placed_at: string;
  lifted_at: string | null;
  lifted_by: string | null;
  lift_reason: string | null;
  lift_envelope_digest: string | null; // the signed approval that lifted it
}

/** A finding a human must decide on before the snapshot moves on. */
export interface ReviewItemTable {
  id: string;
  snapshot_id: string;
  scan_id: string;
  record_id: string;
  kinds: string; // JSON array of issue kinds
  score: number;
  detail: string; // JSON
  status: string; // open | keep | drop | relabel
  new_label: string | null;
  decided_by: string | null;
  decided_at: string | null;
  applied_snapshot: string | null;
}
