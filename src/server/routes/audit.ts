import { z } from 'zod';
import { auditProof, verifyAudit } from '../../engine/audit.js';
import { Authorizer } from '../../engine/authz/authorizer.js';
import { DEFAULT_POLICIES } from '../../engine/authz/default-policies.js';
import { authorize } from '../../engine/governance/authorize.js';
import { readPolicyFiles } from '../../engine/governance/policies.js';
import type { EventSearch } from '../../store/metadata-store.js';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';
import { checkDeclaredLength, readBodyText } from '../body.js';
import { HttpProblem } from '../problem.js';
import * as S from '../schemas.js';

const Time = z.iso.datetime({ offset: true });

/** The events query: the CLI's filters and `after` paging, and the console's search. */
export const AuditSearchQuery = S.AuditQuery.extend({
  kind: z
    .string()
    .max(200)
    .optional()
    .describe('An event kind, or a prefix ending in "." or ".*" (snapshot.)'),
  from: Time.optional().describe('Same as since: at or after this time'),
  to: Time.optional().describe('Same as until: before this time'),
  q: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Text in the detail JSON (ASCII letters in any case)'),
  before: z.coerce.number().int().min(1).optional().describe('only events before this seq'),
  order: z.enum(['asc', 'desc']).default('asc').describe('asc: oldest first; desc: newest first'),
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
});
type AuditSearchQuery = z.output<typeof AuditSearchQuery>;

export const AuditSearchPage = S.AuditPage.extend({
  next: z
    .number()
    .int()
    .nullable()
    .describe(
      'More follow: pass as `after` (oldest first) or `before` (newest first) for the next page',
    ),
  total: z.number().int().describe('Events matching the filters, on every page'),
  offset: z.number().int(),
  limit: z.number().int(),
  order: z.enum(['asc', 'desc']),
}).meta({ id: 'AuditSearchPage' });

export const AuditCheckpoint = z
  .object({
    checkpoint: z
      .object({
        size: z.number().int().describe('Events it covers'),
        root: z.string().describe('Merkle root of those events (hex)'),
        note: z.string().describe('The signed note (C2SP signed-note format)'),
        signer: z.string().nullable().describe("Key name on the note's signature line"),
        createdAt: z.string(),
      })
      .nullable()
      .describe('Null before the first checkpoint'),
  })
  .meta({ id: 'AuditCheckpoint' });

export const AuditProofDetail = S.AuditProof.extend({
  event: z
    .object({
      seq: z.number().int(),
      time: z.string(),
      actor: z.string(),
      kind: z.string(),
      dataset: z.string().nullable(),
      snapshot: z.string().nullable(),
      detail: z.string().describe('The detail JSON text exactly as stored (and hashed)'),
    })
    .nullable()
    .optional()
    .describe('Sent with event=true'),
}).meta({ id: 'AuditProofDetail' });

/** The store search a query asks for: `kind` "a." or "a.*" is a prefix, since/from alike. */
export function eventSearch(query: AuditSearchQuery): EventSearch {
  const since = query.since ?? query.from;
  const until = query.until ?? query.to;
  const kind = query.kind;
  const prefix =
    kind === undefined
      ? undefined
      : kind.endsWith('.*')
        ? kind.slice(0, -1)
        : kind.endsWith('.')
          ? kind
          : undefined;
  return {
    ...(query.dataset !== undefined ? { dataset: query.dataset } : {}),
    ...(query.actor !== undefined ? { actor: query.actor } : {}),
    ...(kind !== undefined ? (prefix !== undefined ? { kindPrefix: prefix } : { kind }) : {}),
    ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
    ...(until !== undefined ? { until: new Date(until).toISOString() } : {}),
    ...(query.after > 0 ? { afterSeq: query.after } : {}),
    ...(query.before !== undefined ? { beforeSeq: query.before } : {}),
    ...(query.q !== undefined ? { text: query.q } : {}),
  };
}

/** The key name on a signed note's first signature line ("— name base64"). */
function noteSigner(note: string): string | null {
  const line = note.split('\n').find((l) => l.startsWith('\u2014 '));
  return line?.split(' ')[1] ?? null;
}

export function auditRoutes(api: RouteList, deps: ServerDeps): void {
  api.route({
    method: 'get',
    path: '/v1/audit/events',
    operationId: 'auditEvents',
    summary: 'Search the audit events: filtered, ordered and paged in the database, with a total',
    description:
      'Needs readAudit: on the dataset when filtering by one (dataset auditors), else on the workspace. A `kind` ending in "." or ".*" matches every kind under it (snapshot. → snapshot.ingest, snapshot.scan…). Page with `after` (oldest first) or `before` (newest first) and `next`, or with `offset`.',
    tags: ['audit'],
    query: AuditSearchQuery,
    responses: { 200: { description: 'A page of events', json: AuditSearchPage } },
    handler: async ({ ws, query }) => {
      await authorize(
        ws,
        'readAudit',
        query.dataset !== undefined
          ? { type: 'Dataset', dataset: query.dataset }
          : { type: 'Workspace' },
      );
      const newestFirst = query.order === 'desc';
      const { events, total } = await ws.meta.searchEvents(eventSearch(query), {
        offset: query.offset,
        limit: query.limit,
        newestFirst,
      });
      const more = query.offset + events.length < total;
      return {
        json: {
          events: events.map((e) => ({
            seq: e.seq,
            time: e.time,
            actor: e.actor,
            kind: e.kind,
            dataset: e.dataset,
            snapshot: e.snapshot_id,
            detail: JSON.parse(e.detail) as unknown,
          })),
          next: more ? events.at(-1)!.seq : null,
          total,
          offset: query.offset,
          limit: query.limit,
          order: query.order,
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
    path: '/v1/audit/checkpoint',
    operationId: 'auditCheckpoint',
    summary: 'The newest signed checkpoint of the audit log (as stored; verify checks it)',
    tags: ['audit'],
    responses: { 200: { description: 'The checkpoint', json: AuditCheckpoint } },
    handler: async ({ ws }) => {
      await authorize(ws, 'readAudit', { type: 'Workspace' });
      const newest = await ws.meta.newestCheckpoint();
      return {
        json: {
          checkpoint: newest
            ? {
                size: newest.size,
                root: newest.root,
                note: newest.note,
                signer: noteSigner(newest.note),
                createdAt: newest.created_at,
              }
            : null,
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/audit/proof/{seq}',
    operationId: 'auditProof',
    summary: 'RFC 9162 inclusion proof that an event is in the signed log',
    tags: ['audit'],
    params: z.object({ seq: z.coerce.number().int().min(1) }),
    query: z.object({
      event: z
        .stringbool()
        .default(false)
        .describe('also send the event as its leaf commits to it'),
    }),
    description:
      'With `event=true`, `event` holds the fields the leaf commits to, `detail` as the stored JSON text, so that a client can rebuild the leaf (canonical JSON of seq, time, actor, kind, dataset, snapshot, detail) and check the proof itself.',
    responses: { 200: { description: 'The proof', json: AuditProofDetail } },
    handler: async ({ ws, params, query }) => {
      await authorize(ws, 'readAudit', { type: 'Workspace' });
      const proof = await auditProof(ws.meta, params.seq);
      if (!query.event) return { json: proof };
      const [e] = (
        await ws.meta.searchEvents(
          { afterSeq: params.seq - 1, beforeSeq: params.seq + 1 },
          { offset: 0, limit: 1 },
        )
      ).events;
      return {
        json: {
          ...proof,
          event: e
            ? {
                seq: e.seq,
                time: e.time,
                actor: e.actor,
                kind: e.kind,
                dataset: e.dataset,
                snapshot: e.snapshot_id,
                detail: e.detail,
              }
            : null,
        },
      };
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
