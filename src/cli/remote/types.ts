import type { z } from 'zod';
import type * as S from '../../server/schemas.js';

/**
 * What the server sends, typed from the same zod schemas that shape its responses and its
 * OpenAPI document (types only: nothing of the server is loaded at run time).
 */
export type ApiSnapshot = z.output<typeof S.Snapshot>;
export type ApiSnapshotDetail = z.output<typeof S.SnapshotDetail>;
export type ApiDatasetSummary = z.output<typeof S.DatasetSummary>;
export type ApiDatasetSettings = z.output<typeof S.DatasetSettings>;
export type ApiTag = z.output<typeof S.Tag>;
export type ApiSource = z.output<typeof S.Source>;
export type ApiDiff = z.output<typeof S.SnapshotDiff>;
export type ApiLineage = z.output<typeof S.Lineage>;
export type ApiRecordProof = z.output<typeof S.RecordProof>;
export type ApiVerification = z.output<typeof S.Verification>;
export type ApiScanResult = z.output<typeof S.ScanResult>;
export type ApiGateResult = z.output<typeof S.GateResult>;
export type ApiApproveResult = z.output<typeof S.ApproveResult>;
export type ApiApprovalStatus = z.output<typeof S.ApprovalStatus>;
export type ApiStatus = z.output<typeof S.SnapshotStatus>;
export type ApiReviewItem = z.output<typeof S.ReviewItem>;
export type ApiQuarantine = z.output<typeof S.Quarantine>;
export type ApiIdentity = z.output<typeof S.Identity>;
export type ApiToken = z.output<typeof S.Token>;
export type ApiCreatedToken = z.output<typeof S.CreatedToken>;
export type ApiNhiReport = z.output<typeof S.NhiReport>;
export type ApiAuditPage = z.output<typeof S.AuditPage>;
export type ApiAuditVerification = z.output<typeof S.AuditVerification>;
export type ApiAuditProof = z.output<typeof S.AuditProof>;
export type ApiWhoami = z.output<typeof S.Whoami>;
