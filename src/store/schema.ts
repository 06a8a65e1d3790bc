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
}
