import type { z } from 'zod';
import type * as S from '../../../src/server/schemas.js';

/**
 * The API's shapes, as the server declares them (src/server/schemas.ts). Only types cross over:
 * the console ships none of the server's code, and a change to a response shape fails the
 * console's type check.
 */
type Out<T extends z.ZodType> = z.output<T>;

export type Problem = Out<typeof S.Problem>;
export type Snapshot = Out<typeof S.Snapshot>;
export type SnapshotDetail = Out<typeof S.SnapshotDetail>;
export type DatasetSummary = Out<typeof S.DatasetSummary>;
export type DatasetDetail = Out<typeof S.DatasetDetail>;
export type DatasetSettings = Out<typeof S.DatasetSettings>;
export type CordonRecord = Out<typeof S.CordonRecord>;
export type RecordsPage = Out<typeof S.RecordsPage>;
export type SnapshotDiff = Out<typeof S.SnapshotDiff>;
export type Lineage = Out<typeof S.Lineage>;
export type Verification = Out<typeof S.Verification>;
export type RecordProof = Out<typeof S.RecordProof>;
export type Tag = Out<typeof S.Tag>;
export type Job = Out<typeof S.Job>;
export type JobProgress = Out<typeof S.JobProgress>;
export type ScanRecord = Out<typeof S.ScanRecord>;
export type ScanReport = Out<typeof S.ScanReport>;
export type GateResult = Out<typeof S.GateResult>;
export type ApprovalStatus = Out<typeof S.ApprovalStatus>;
export type ApproveResult = Out<typeof S.ApproveResult>;
export type SnapshotStatus = Out<typeof S.SnapshotStatus>;
export type StateChange = Out<typeof S.StateChange>;
export type ReviewItem = Out<typeof S.ReviewItem>;
export type Quarantine = Out<typeof S.Quarantine>;
export type Identity = Out<typeof S.Identity>;
export type Token = Out<typeof S.Token>;
export type CreatedToken = Out<typeof S.CreatedToken>;
export type Whoami = Out<typeof S.Whoami>;
export type NhiReport = Out<typeof S.NhiReport>;
export type AuditEvent = Out<typeof S.AuditEvent>;
export type AuditPage = Out<typeof S.AuditPage>;
export type AuditVerification = Out<typeof S.AuditVerification>;
export type AuditProof = Out<typeof S.AuditProof>;

/** Request bodies, as the server parses them. */
export type ScanBody = z.input<typeof S.ScanBody>;
export type ApproveBody = z.input<typeof S.ApproveBody>;
export type ReviewDecideBody = z.input<typeof S.ReviewDecideBody>;
export type QuarantineBody = z.input<typeof S.QuarantineBody>;
export type TokenBody = z.input<typeof S.TokenBody>;
export type IdentityBody = z.input<typeof S.IdentityBody>;
