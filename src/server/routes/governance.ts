import { z } from 'zod';
import { CordonError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import {
  approvalStatus,
  approveSnapshot,
  promoteSnapshot,
} from '../../engine/governance/approvals.js';
import { snapshotState } from '../../engine/governance/facts.js';
import { gateStatus, releaseSnapshot, runGate } from '../../engine/governance/gate.js';
import { liftQuarantine, placeQuarantine } from '../../engine/governance/quarantine.js';
import { applyReview, decideReviewItem, openReview } from '../../engine/governance/review.js';
import { resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';
import { checkDeclaredLength, readBodyText } from '../body.js';
import { HttpProblem } from '../problem.js';
import * as S from '../schemas.js';
import { Visibility } from '../visibility.js';
import { quarantineView, readableSnapshot, reviewItemView, snapshotView } from '../views.js';

const RefParam = z.object({ ref: S.SnapshotRefText });

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
    tags: ['governance'],
    params: RefParam,
    responses: { 200: { description: 'Released', json: S.StateChange } },
    handler: async ({ ws, params }) => {
      const row = await resolveSnapshot(ws, params.ref);
      await releaseSnapshot(ws, row);
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
    summary: 'Review items on the datasets the caller may read (open ones unless all=true)',
    tags: ['governance'],
    query: z.object({ snapshot: S.SnapshotRefText.optional(), all: z.stringbool().default(false) }),
    responses: {
      200: { description: 'Items', json: z.object({ items: z.array(S.ReviewItem) }) },
    },
    handler: async ({ ws, query }) => {
      const snapshotId = query.snapshot
        ? (await readableSnapshot(ws, query.snapshot)).id
        : undefined;
      const rows = await ws.meta.gov.listReviewItems({
        ...(snapshotId !== undefined ? { snapshotId } : {}),
        ...(query.all ? {} : { status: 'open' }),
      });
      const visible = await Visibility.of(ws);
      const datasets = new Map<string, string | undefined>();
      const items = [];
      for (const r of rows) {
        if (!datasets.has(r.snapshot_id))
          datasets.set(r.snapshot_id, (await ws.meta.getSnapshot(r.snapshot_id))?.dataset);
        const dataset = datasets.get(r.snapshot_id);
        if (dataset !== undefined && (await visible.dataset(dataset)))
          items.push(reviewItemView(r));
      }
      return { json: { items } };
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
