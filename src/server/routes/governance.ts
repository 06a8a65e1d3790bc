import { z } from 'zod';
import { CordonError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import { ISSUE_KINDS } from '../../core/scan/report.js';
import type { IssueKind } from '../../core/scan/types.js';
import {
  approvalStatus,
  approveSnapshot,
  promoteSnapshot,
} from '../../engine/governance/approvals.js';
import { snapshotState } from '../../engine/governance/facts.js';
import {
  gateStatus,
  RELEASE_MODEL_MAX,
  releaseSnapshot,
  runGate,
} from '../../engine/governance/gate.js';
import {
  approvalRecords,
  latestGatePolicy,
  pendingApprovals,
} from '../../engine/governance/pending-approvals.js';
import { liftQuarantine, placeQuarantine } from '../../engine/governance/quarantine.js';
import { applyReview, decideReviewItem, openReview } from '../../engine/governance/review.js';
import { resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';
import { checkDeclaredLength, readBodyText } from '../body.js';
import { HttpProblem } from '../problem.js';
import * as S from '../schemas.js';
import { Visibility } from '../visibility.js';
import {
  quarantineView,
  readableDataset,
  readableSnapshot,
  reviewItemView,
  snapshotView,
} from '../views.js';

const RefParam = z.object({ ref: S.SnapshotRefText });

const ReleaseBody = z.object({
  model: z
    .string()
    .trim()
    .min(1)
    .max(RELEASE_MODEL_MAX)
    .optional()
    .describe('the model this snapshot is released to train (recorded in the audit log)'),
});

const ReviewItemsQuery = z.object({
  snapshot: S.SnapshotRefText.optional(),
  dataset: z.string().min(1).max(128).optional(),
  status: z
    .enum(['open', 'keep', 'drop', 'relabel', 'decided'])
    .optional()
    .describe('only items in this status ("decided": keep, drop or relabel)'),
  kind: z
    .enum(ISSUE_KINDS as [IssueKind, ...IssueKind[]])
    .optional()
    .describe('only items flagged with this kind'),
  all: z.stringbool().default(false).describe('include decided and applied items'),
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().min(0).max(500).default(100),
});

const ReviewItemsPage = z
  .object({
    items: z.array(S.ReviewItem),
    total: z.number().int().describe('items matching the filter'),
    offset: z.number().int(),
    limit: z.number().int(),
    counts: z
      .object({
        open: z.number().int(),
        keep: z.number().int(),
        drop: z.number().int(),
        relabel: z.number().int(),
      })
      .describe('items not yet applied, by status, for the same snapshot, dataset and kind'),
  })
  .meta({ id: 'ReviewItemsPage' });

const GateSummary = z
  .object({
    run: z.string(),
    passed: z.boolean(),
    createdAt: z.string(),
    actor: z.string(),
    failed: z.array(z.string()).describe('ids of the failed checks'),
  })
  .meta({ id: 'GateSummary' });

const PendingApprovals = z
  .object({
    pending: z.array(
      z.object({
        snapshot: z.string(),
        ref: z.string(),
        dataset: z.string(),
        version: z.number().int(),
        author: z.string(),
        createdAt: z.string(),
        records: z.number().int(),
        message: z.string(),
        approvals: z.object({
          current: z.number().int().describe('independent approvals so far'),
          required: z.number().int(),
          approvers: z.array(z.string()),
        }),
        gate: GateSummary.nullable().describe('the newest gate verdict, if any'),
      }),
    ),
  })
  .meta({ id: 'PendingApprovals' });

const ApprovalList = z
  .object({
    snapshot: z.string(),
    status: S.ApprovalStatus,
    approvals: z.array(
      z.object({
        id: z.string().describe('digest of the signed approval envelope'),
        approver: z.string(),
        keyId: z.string().describe('the key that signed it'),
        envelopeDigest: z.string(),
        createdAt: z.string(),
        submittedBy: z.string(),
        comment: z.string().nullable(),
        counts: z.boolean().describe('whether it counts as an independent approval now'),
      }),
    ),
  })
  .meta({ id: 'ApprovalList' });

const GatePolicy = z
  .object({
    dataset: z.string(),
    name: z.string().describe('the policy name recorded in the verdict'),
    text: z.string().describe('the policy (YAML)'),
    digest: z.string(),
    gate: z.string().describe('the gate run that used it'),
    snapshot: z.string(),
    ref: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'GatePolicy' });

export function governanceRoutes(api: RouteList, deps: ServerDeps): void {
  api.route({
    method: 'post',
    path: '/v1/snapshots/{ref}/gate',
    operationId: 'gate',
    summary: 'Evaluate a gate policy over a snapshot and sign the verdict',
    description:
      'The verdict is recorded and signed whether it passes or not; `passed` says which. A policy that does not validate is a 422 POLICY_INVALID naming every problem with its line.',
    tags: ['governance'],
    params: RefParam,
    query: z.object({
      name: z
        .string()
        .min(1)
        .max(200)
        .default('gate.yaml')
        .describe('policy name recorded in the verdict'),
    }),
    body: {
      raw: {
        contentTypes: ['application/yaml', 'text/yaml', 'text/plain'],
        description: 'The gate policy (YAML, see examples/gate.yaml)',
      },
    },
    responses: { 201: { description: 'The signed verdict', json: S.GateResult } },
    handler: async ({ c, ws, params, query }) => {
      checkDeclaredLength(c.req.header('content-length'), deps.limits.json, 'the gate policy');
      const text = await readBodyText(c.req.raw.body, deps.limits.json, 'the gate policy');
      if (!text.trim()) throw new HttpProblem('BODY_MALFORMED', 'send the gate policy as the body');
      const row = await resolveSnapshot(ws, params.ref);
      const r = await runGate(ws, row, { text, file: query.name });
      return {
        status: 201,
        json: {
          gate: r.id,
          snapshot: row.id,
          passed: r.verdict.passed,
          checks: r.verdict.checks,
          policyDigest: r.policyDigest,
          envelope: r.envelope,
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/gate',
    operationId: 'latestGate',
    summary: 'The newest gate verdict of a snapshot, with its signed envelope',
    description:
      'As stored (the envelope is checked against its digest); 404 NOT_FOUND when no gate has run. Whether it still holds is GET /status.',
    tags: ['governance'],
    params: RefParam,
    responses: { 200: { description: 'The newest verdict', json: S.GateResult } },
    handler: async ({ ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      const run = await ws.meta.gov.latestGateRun(row.id);
      if (!run) throw new HttpProblem('NOT_FOUND', `no gate has been run on ${snapshotLabel(row)}`);
      const bytes = await ws.blobs.get(run.envelope_digest);
      if (sha256Hex(bytes) !== run.envelope_digest)
        throw new CordonError(
          'VERIFY_FAILED',
          `the verdict of gate run ${run.id} does not match its digest`,
        );
      return {
        json: {
          gate: run.id,
          snapshot: row.id,
          passed: run.passed === 1,
          checks: JSON.parse(run.checks) as unknown,
          policyDigest: run.policy_digest,
          envelope: JSON.parse(bytes.toString('utf8')) as unknown,
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/status',
    operationId: 'status',
    summary: 'State, re-verified approvals and gate result of a snapshot',
    tags: ['governance'],
    params: RefParam,
    responses: { 200: { description: 'Status', json: S.SnapshotStatus } },
    handler: async ({ ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      return {
        json: {
          snapshot: row.id,
          ref: snapshotLabel(row),
          state: await snapshotState(ws, row.id),
          approvals: await approvalStatus(ws, row),
          gate: await gateStatus(ws, row),
          reviewItems: (await ws.meta.gov.listReviewItems({ snapshotId: row.id })).length,
        },
      };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/snapshots/{ref}/approvals',
    operationId: 'approve',
    summary: "Approve a scanned snapshot: the caller's key signs its root",
    description:
      "Stewards and owners; never the snapshot's author or the owner of the bot that authored it, and never a service account. Send `envelope` to submit an approval signed elsewhere (it must be the caller's own). A refused approval is a 422 APPROVAL_INVALID or 403 FORBIDDEN with Cedar's reason, and an audit event.",
    tags: ['governance'],
    params: RefParam,
    body: { json: S.ApproveBody },
    responses: { 201: { description: 'Approved', json: S.ApproveResult } },
    handler: async ({ ws, params, body }) => {
      const row = await resolveSnapshot(ws, params.ref);
      const r = await approveSnapshot(ws, row, {
        ...(body.comment !== undefined ? { comment: body.comment } : {}),
        ...(body.envelope ? { envelope: body.envelope } : {}),
      });
      return { status: 201, json: { snapshot: row.id, ...r } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/snapshots/{ref}/promote',
    operationId: 'promote',
    summary: 'Move a scanned snapshot to approved once enough independent approvals exist',
    tags: ['governance'],
    params: RefParam,
    responses: {
      200: {
        description: 'Approved',
        json: S.StateChange.extend({ approvals: S.ApprovalStatus }),
      },
    },
    handler: async ({ ws, params }) => {
      const row = await resolveSnapshot(ws, params.ref);
      const approvals = await promoteSnapshot(ws, row);
      return { json: { snapshot: row.id, state: 'approved', approvals } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/snapshots/{ref}/release',
    operationId: 'release',
    summary: 'Release an approved snapshot that passed its gate for training',
    description:
      'The body may name the model the snapshot is released to train (`model`); it is recorded in the `snapshot.release` audit event, where lineage reads it.',
    tags: ['governance'],
    params: RefParam,
    body: { json: ReleaseBody },
    responses: { 200: { description: 'Released', json: S.StateChange } },
    handler: async ({ ws, params, body }) => {
      const row = await resolveSnapshot(ws, params.ref);
      await releaseSnapshot(ws, row, body.model !== undefined ? { model: body.model } : {});
      return { json: { snapshot: row.id, state: 'released' } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/snapshots/{ref}/review',
    operationId: 'openReview',
    summary: "Queue the records of the newest scan's strong findings for human review",
    tags: ['governance'],
    params: RefParam,
    body: { json: S.ReviewOpenBody },
    responses: {
      200: {
        description: 'Items opened (opening twice adds nothing new)',
        json: z.object({
          snapshot: z.string(),
          scan: z.string(),
          opened: z.number().int(),
          threshold: z.number(),
        }),
      },
    },
    handler: async ({ ws, params, body }) => {
      const row = await resolveSnapshot(ws, params.ref);
      const r = await openReview(
        ws,
        row,
        body.threshold !== undefined ? { threshold: body.threshold } : {},
      );
      return { json: { snapshot: row.id, ...r } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/snapshots/{ref}/review/apply',
    operationId: 'applyReview',
    summary: 'Commit the review decisions as a new snapshot derived from this one',
    tags: ['governance'],
    params: RefParam,
    responses: {
      201: {
        description: 'The derived snapshot',
        json: z.object({
          from: z.string(),
          snapshot: S.Snapshot,
          kept: z.number().int(),
          dropped: z.number().int(),
          relabelled: z.number().int(),
        }),
      },
    },
    handler: async ({ ws, params }) => {
      const row = await resolveSnapshot(ws, params.ref);
      const r = await applyReview(ws, row);
      return {
        status: 201,
        json: {
          from: row.id,
          snapshot: await snapshotView(ws, r.snapshot),
          kept: r.kept,
          dropped: r.dropped,
          relabelled: r.relabelled,
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/review-items',
    operationId: 'listReviewItems',
    summary: 'A page of review items on the datasets the caller may read',
    description:
      'Open items unless `status` or `all=true` says otherwise; items already applied to a derived snapshot only with `all=true`. Ordered by snapshot, then score (highest first). `counts` holds the items not yet applied, by status, for the same snapshot, dataset and kind (status aside): what a reviewer has decided and what is left.',
    tags: ['governance'],
    query: ReviewItemsQuery,
    responses: {
      200: { description: 'Items', json: ReviewItemsPage },
    },
    handler: async ({ ws, query }) => {
      const snapshotId = query.snapshot
        ? (await readableSnapshot(ws, query.snapshot)).id
        : undefined;
      let datasets: string[];
      if (query.dataset !== undefined) {
        await readableDataset(ws, query.dataset);
        datasets = [query.dataset];
      } else {
        const visible = await Visibility.of(ws);
        datasets = [];
        for (const d of await ws.meta.listDatasets())
          if (await visible.dataset(d.name)) datasets.push(d.name);
      }
      const status =
        query.status === 'decided'
          ? ['keep', 'drop', 'relabel']
          : query.status !== undefined
            ? [query.status]
            : query.all
              ? undefined
              : ['open'];
      const scope = {
        ...(snapshotId !== undefined ? { snapshotId } : {}),
        datasets,
        ...(query.kind !== undefined ? { kind: query.kind } : {}),
      };
      const { rows, total } = await ws.meta.gov.pageReviewItems(
        {
          ...scope,
          ...(status !== undefined ? { status } : {}),
          ...(query.all ? {} : { applied: false }),
        },
        { offset: query.offset, limit: query.limit },
      );
      const counts = await ws.meta.gov.countReviewItems({ ...scope, applied: false });
      return {
        json: {
          items: rows.map(reviewItemView),
          total,
          offset: query.offset,
          limit: query.limit,
          counts: {
            open: counts['open'] ?? 0,
            keep: counts['keep'] ?? 0,
            drop: counts['drop'] ?? 0,
            relabel: counts['relabel'] ?? 0,
          },
        },
      };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/review-items/decisions',
    operationId: 'decideReviewItems',
    summary: 'Keep, drop or relabel the records of one or more review items',
    tags: ['governance'],
    body: { json: S.ReviewDecideBody },
    responses: {
      200: { description: 'The decided items', json: z.object({ items: z.array(S.ReviewItem) }) },
    },
    handler: async ({ ws, body }) => {
      for (const id of body.items)
        if (!(await ws.meta.gov.getReviewItem(id)))
          throw new HttpProblem('NOT_FOUND', `no review item ${id}`);
      const items = [];
      for (const id of body.items)
        items.push(reviewItemView(await decideReviewItem(ws, id, body.decision, body.label)));
      return { json: { items } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/approvals/pending',
    operationId: 'pendingApprovals',
    summary: 'Snapshots the caller could approve now',
    description:
      'Scanned snapshots on datasets the caller may read, that Cedar lets the caller approve (never the author nor the owner of the authoring bot), and that the caller has not approved yet; with the approvals counted so far and the newest gate verdict. Nothing is logged for the snapshots left out.',
    tags: ['governance'],
    responses: { 200: { description: 'Pending approvals', json: PendingApprovals } },
    handler: async ({ ws }) => {
      const visible = await Visibility.of(ws);
      const pending = await pendingApprovals(ws, (d) => visible.dataset(d));
      return {
        json: {
          pending: pending.map((p) => ({
            snapshot: p.snapshot.id,
            ref: snapshotLabel(p.snapshot),
            dataset: p.snapshot.dataset,
            version: p.snapshot.version,
            author: p.snapshot.author,
            createdAt: p.snapshot.created_at,
            records: Number(p.snapshot.record_count),
            message: p.snapshot.message,
            approvals: {
              current: p.approvals.independent.length,
              required: p.approvals.required,
              approvers: p.approvals.independent,
            },
            gate: p.gate,
          })),
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/approvals',
    operationId: 'listApprovals',
    summary:
      'The signed approvals of a snapshot: who, when, with which key, and whether each counts',
    tags: ['governance'],
    params: RefParam,
    responses: { 200: { description: 'Approvals', json: ApprovalList } },
    handler: async ({ ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      const status = await approvalStatus(ws, row);
      return {
        json: {
          snapshot: row.id,
          status,
          approvals: await approvalRecords(ws, row, status),
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/datasets/{name}/gate-policy',
    operationId: 'latestGatePolicy',
    summary: 'The gate policy the newest gate run on a dataset used',
    description:
      'The policy text is stored (by its digest) with every gate run; 404 NOT_FOUND when the dataset has no gate run whose policy text is stored.',
    tags: ['governance'],
    params: z.object({ name: z.string().min(1).max(128) }),
    responses: { 200: { description: 'The policy', json: GatePolicy } },
    handler: async ({ ws, params }) => {
      await readableDataset(ws, params.name);
      const p = await latestGatePolicy(ws, params.name);
      if (!p) throw new HttpProblem('NOT_FOUND', `no stored gate policy for "${params.name}"`);
      const snapshot = await ws.meta.getSnapshot(p.snapshot);
      return {
        json: {
          dataset: params.name,
          name: p.name,
          text: p.text,
          digest: p.digest,
          gate: p.run,
          snapshot: p.snapshot,
          ref: snapshot ? snapshotLabel(snapshot) : null,
          createdAt: p.createdAt,
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/quarantines',
    operationId: 'listQuarantines',
    summary: 'Quarantines the caller may see (active ones unless all=true)',
    tags: ['governance'],
    query: z.object({ all: z.stringbool().default(false) }),
    responses: {
      200: {
        description: 'Quarantines',
        json: z.object({ quarantines: z.array(S.Quarantine) }),
      },
    },
    handler: async ({ ws, query }) => {
      const visible = await Visibility.of(ws);
      const quarantines = [];
      for (const q of await ws.meta.gov.listQuarantines(query.all ? {} : { active: true })) {
        let dataset = q.dataset;
        if (q.kind === 'snapshot')
          dataset = (await ws.meta.getSnapshot(q.target))?.dataset ?? dataset;
        const owner =
          q.kind === 'token' ? (await ws.meta.gov.getToken(q.target))?.identity : undefined;
        const may =
          dataset !== null
            ? await visible.dataset(dataset)
            : owner !== undefined
              ? await visible.identityTokens(owner)
              : visible.workspace('readAudit');
        if (may) quarantines.push(quarantineView(q));
      }
      return { json: { quarantines } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/quarantines',
    operationId: 'placeQuarantine',
    summary: 'Quarantine a snapshot, a source of a dataset, or a token',
    tags: ['governance'],
    body: { json: S.QuarantineBody },
    responses: { 201: { description: 'Placed', json: S.Quarantine } },
    handler: async ({ ws, body }) => {
      const row = await placeQuarantine(ws, body.kind, body.target, {
        reason: body.reason,
        ...(body.dataset !== undefined ? { dataset: body.dataset } : {}),
      });
      return { status: 201, json: quarantineView(row) };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/quarantines/{id}/lift',
    operationId: 'liftQuarantine',
    summary: 'Lift a quarantine (someone other than who placed it; signed)',
    tags: ['governance'],
    params: z.object({ id: z.string().min(1) }),
    body: { json: S.ReasonBody },
    responses: { 200: { description: 'Lifted', json: S.Quarantine } },
    handler: async ({ ws, params, body }) => {
      if (!(await ws.meta.gov.getQuarantine(params.id)))
        throw new HttpProblem('NOT_FOUND', `no quarantine ${params.id}`);
      return { json: quarantineView(await liftQuarantine(ws, params.id, body.reason)) };
    },
  });
}
