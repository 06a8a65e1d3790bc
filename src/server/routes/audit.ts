import { z } from 'zod';
import { auditProof, verifyAudit } from '../../engine/audit.js';
import { Authorizer } from '../../engine/authz/authorizer.js';
import { DEFAULT_POLICIES } from '../../engine/authz/default-policies.js';
import { authorize } from '../../engine/governance/authorize.js';
import { readPolicyFiles } from '../../engine/governance/policies.js';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';
import { checkDeclaredLength, readBodyText } from '../body.js';
import { HttpProblem } from '../problem.js';
import * as S from '../schemas.js';

export function auditRoutes(api: RouteList, deps: ServerDeps): void {
  api.route({
    method: 'get',
    path: '/v1/audit/events',
    operationId: 'auditEvents',
    summary: 'Audit events, oldest first, filtered and paged by sequence number',
    description:
      'Needs readAudit: on the dataset when filtering by one (dataset auditors), else on the workspace.',
    tags: ['audit'],
    query: S.AuditQuery,
    responses: { 200: { description: 'A page of events', json: S.AuditPage } },
    handler: async ({ ws, query }) => {
      await authorize(
        ws,
        'readAudit',
        query.dataset !== undefined
          ? { type: 'Dataset', dataset: query.dataset }
          : { type: 'Workspace' },
      );
      const rows = (
        await ws.meta.listEvents({
          ...(query.dataset !== undefined ? { dataset: query.dataset } : {}),
          ...(query.actor !== undefined ? { actor: query.actor } : {}),
          ...(query.kind !== undefined ? { kind: query.kind } : {}),
          ...(query.since !== undefined ? { since: new Date(query.since).toISOString() } : {}),
          ...(query.until !== undefined ? { until: new Date(query.until).toISOString() } : {}),
        })
      ).filter((e) => e.seq > query.after);
      const page = rows.slice(0, query.limit);
      return {
        json: {
          events: page.map((e) => ({
            seq: e.seq,
            time: e.time,
            actor: e.actor,
            kind: e.kind,
            dataset: e.dataset,
            snapshot: e.snapshot_id,
            detail: JSON.parse(e.detail) as unknown,
          })),
          next: rows.length > page.length ? page.at(-1)!.seq : null,
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/audit/verify',
    operationId: 'verifyAudit',
    summary: 'Recompute the Merkle tree of every event and check every signed checkpoint',
    description:
      'Also replays the log against the governance tables. Fails closed: 422 VERIFY_FAILED naming what does not hold.',
    tags: ['audit'],
    responses: { 200: { description: 'The log holds', json: S.AuditVerification } },
    handler: async ({ ws }) => {
      await authorize(ws, 'readAudit', { type: 'Workspace' });
      return { json: { ok: true, ...(await verifyAudit(ws.meta)) } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/audit/proof/{seq}',
    operationId: 'auditProof',
    summary: 'RFC 9162 inclusion proof that an event is in the signed log',
    tags: ['audit'],
    params: z.object({ seq: z.coerce.number().int().min(1) }),
    responses: { 200: { description: 'The proof', json: S.AuditProof } },
    handler: async ({ ws, params }) => {
      await authorize(ws, 'readAudit', { type: 'Workspace' });
      return { json: await auditProof(ws.meta, params.seq) };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/policies',
    operationId: 'listPolicies',
    summary: "The Cedar policies in force: Cordon's defaults and the workspace's own",
    tags: ['audit'],
    responses: { 200: { description: 'Policies', json: S.PolicyList } },
    handler: async ({ ws }) => {
      const authorizer = Authorizer.load(await readPolicyFiles(ws.dir));
      return {
        json: {
          digest: authorizer.digest,
          policies: [
            ...DEFAULT_POLICIES.map((p) => ({ id: p.id, origin: 'default', doc: p.doc })),
            ...authorizer.policyIds
              .filter((id) => !DEFAULT_POLICIES.some((p) => p.id === id))
              .map((id) => ({ id, origin: 'workspace', doc: '' })),
          ],
        },
      };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/policies/check',
    operationId: 'checkPolicy',
    summary: 'Validate a Cedar policy file against the schema and the policies in force',
    description:
      "Nothing is installed. An invalid file is a 422 POLICY_INVALID with Cedar's messages (file, line, column).",
    tags: ['audit'],
    mutates: false,
    query: z.object({
      name: z
        .string()
        .min(1)
        .max(200)
        .default('request.cedar')
        .describe('file name used in messages'),
    }),
    body: { raw: { contentTypes: ['text/plain'], description: 'Cedar policy text' } },
    responses: {
      200: {
        description: 'Valid',
        json: z.object({ valid: z.literal(true), policies: z.number().int() }),
      },
    },
    handler: async ({ c, ws, query }) => {
      checkDeclaredLength(c.req.header('content-length'), deps.limits.json, 'the policy');
      const text = await readBodyText(c.req.raw.body, deps.limits.json, 'the policy');
      if (!text.trim())
        throw new HttpProblem('BODY_MALFORMED', 'send the Cedar policy as the body');
      const authorizer = Authorizer.load([
        ...(await readPolicyFiles(ws.dir)),
        { file: query.name, text },
      ]);
      return { json: { valid: true, policies: authorizer.policyIds.length } };
    },
  });
}
