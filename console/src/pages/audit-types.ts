import type { AuditEvent, AuditProof } from '../api/types.js';

/**
 * Shapes that src/server/routes/audit.ts adds to the audit API (declared there, beside the
 * routes; not in src/server/schemas.ts, which the console's types come from). Kept by hand:
 * the route file imports server code the console's type check cannot load.
 */

/** GET /v1/audit/events */
export interface AuditSearchPage {
  events: AuditEvent[];
  /** Pass as `after` (oldest first) or `before` (newest first) for the next page. */
  next: number | null;
  total: number;
  offset: number;
  limit: number;
  order: 'asc' | 'desc';
}

/** GET /v1/audit/checkpoint */
export interface AuditCheckpoint {
  checkpoint: {
    size: number;
    root: string;
    note: string;
    signer: string | null;
    createdAt: string;
  } | null;
}

/** GET /v1/audit/proof/{seq} */
export interface AuditProofDetail extends AuditProof {
  /** Asked for with event=true. */
  event?:
    | {
        seq: number;
        time: string;
        actor: string;
        kind: string;
        dataset: string | null;
        snapshot: string | null;
        /** The detail JSON text exactly as stored (and hashed). */
        detail: string;
      }
    | null
    | undefined;
}
