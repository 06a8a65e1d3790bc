import { z } from 'zod';
import { workspaceNhiReport } from '../../engine/governance/nhi.js';
import { parseDuration, SCOPES } from '../../core/tokens.js';
import { ROLES } from '../../engine/authz/actions.js';
import { authorize } from '../../engine/governance/authorize.js';
import {
  addIdentity,
  disableIdentity,
  grantRole,
  joinGroup,
} from '../../engine/governance/identities.js';
import { createToken, revokeToken, rotateToken } from '../../engine/governance/tokens.js';
import type { Workspace } from '../../engine/workspace.js';
import type { GrantRow } from '../../store/governance-store.js';
import type { IdentityRow } from '../../store/metadata-store.js';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';
import { HttpProblem } from '../problem.js';
import * as S from '../schemas.js';
import { Visibility } from '../visibility.js';
import { tokenView } from '../views.js';

const Subject = z.string().min(1).max(140).describe('An identity name, or group:<name>');
const TokenSettings = z
  .object({
    scopes: z.array(z.string()).describe('Every scope a token may hold'),
    maxLifetimeDays: z.number().int().describe('Longest lifetime of a service-account token'),
    maxOverlapHours: z.number().int().describe('Longest overlap of a rotation'),
  })
  .meta({ id: 'TokenSettings' });
const KeyIdParam = z.object({ keyId: z.string().regex(/^[0-9A-Za-z]{12}$/) });

async function identityView(
  ws: Workspace,
  i: IdentityRow,
  grants: GrantRow[],
): Promise<z.input<typeof S.Identity>> {
  return {
    name: i.name,
    kind: i.kind === 'service' ? 'service' : 'human',
    keyId: i.key_id,
    owners: JSON.parse(i.owners) as string[],
    groups: await ws.meta.gov.groupsOf(i.name),
    roles: grants
      .filter((g) => g.subject_type !== 'Group' && g.subject === i.name)
      .map((g) => `${g.role}@${g.dataset}`),
    disabledAt: i.disabled_at,
    flag: i.flag,
  };
}

async function requireToken(ws: Workspace, keyId: string): Promise<void> {
  if (!(await ws.meta.gov.getToken(keyId))) throw new HttpProblem('NOT_FOUND', `no token ${keyId}`);
}

export function identityRoutes(api: RouteList, _deps: ServerDeps): void {
  api.route({
    method: 'get',
    path: '/v1/whoami',
    operationId: 'whoami',
    summary: 'Who the caller is: the identity its token acts as, and the token',
    tags: ['identities'],
    responses: { 200: { description: 'The caller', json: S.Whoami } },
    handler: async ({ ws }) => {
      const row = await ws.meta.getIdentity(ws.identity.name);
      return {
        json: {
          name: ws.identity.name,
          kind: row?.kind === 'service' ? 'service' : 'human',
          keyId: ws.identity.keyId,
          token: {
            keyId: ws.credential.id,
            scopes: ws.credential.scopes,
            expiresAt: ws.credential.expiresAt,
          },
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/identities',
    operationId: 'listIdentities',
    summary: 'Identities, their roles, owners, groups and state',
    description: 'Needs readAudit on the workspace (admins and workspace-wide auditors).',
    tags: ['identities'],
    responses: {
      200: { description: 'Identities', json: z.object({ identities: z.array(S.Identity) }) },
    },
    handler: async ({ ws }) => {
      await authorize(ws, 'readAudit', { type: 'Workspace' });
      const grants = await ws.meta.gov.listGrants();
      const identities = [];
      for (const i of await ws.meta.listIdentities())
        identities.push(await identityView(ws, i, grants));
      return { json: { identities } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/identities',
    operationId: 'addIdentity',
    summary: 'Register a human or a service account (with accountable owners) and its signing key',
    tags: ['identities'],
    body: { json: S.IdentityBody },
    responses: { 201: { description: 'Registered', json: S.Identity } },
    handler: async ({ ws, body }) => {
      const row = await addIdentity(ws, body.name, { kind: body.kind, owners: body.owners });
      return { status: 201, json: await identityView(ws, row, await ws.meta.gov.listGrants()) };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/identities/{name}/disable',
    operationId: 'disableIdentity',
    summary: 'Offboard: disable an identity, revoke its tokens, flag the bots it owns',
    tags: ['identities'],
    params: z.object({ name: S.IdentityName }),
    body: { json: S.ReasonBody },
    responses: {
      200: {
        description: 'Disabled',
        json: z.object({
          name: z.string(),
          revokedTokens: z.number().int(),
          flaggedServices: z.array(z.string()),
        }),
      },
    },
    handler: async ({ ws, params, body }) => ({
      json: { name: params.name, ...(await disableIdentity(ws, params.name, body.reason)) },
    }),
  });

  const GrantResult = z.object({
    subject: z.string(),
    role: z.string(),
    dataset: z.string(),
    changed: z.boolean(),
  });

  api.route({
    method: 'post',
    path: '/v1/identities/{subject}/grants',
    operationId: 'grantRole',
    summary: 'Give an identity or a group a role on a dataset (or on every dataset)',
    tags: ['identities'],
    params: z.object({ subject: Subject }),
    body: { json: S.GrantBody },
    responses: { 200: { description: 'Granted', json: GrantResult } },
    handler: async ({ ws, params, body }) => {
      const changed = await grantRole(ws, params.subject, body.role, body.dataset);
      return { json: { subject: params.subject, role: body.role, dataset: body.dataset, changed } };
    },
  });

  api.route({
    method: 'delete',
    path: '/v1/identities/{subject}/grants/{role}',
    operationId: 'revokeRole',
    summary: 'Take a role away (changed is false if it was not granted)',
    tags: ['identities'],
    params: z.object({ subject: Subject, role: z.string().min(1) }),
    query: z.object({ dataset: z.string().default('*') }),
    responses: { 200: { description: 'Revoked', json: GrantResult } },
    handler: async ({ ws, params, query }) => {
      const changed = await grantRole(ws, params.subject, params.role, query.dataset, true);
      return {
        json: { subject: params.subject, role: params.role, dataset: query.dataset, changed },
      };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/groups/{group}/members',
    operationId: 'joinGroup',
    summary: 'Add an identity to a group (grants to group:<name> then apply to it)',
    tags: ['identities'],
    params: z.object({ group: S.IdentityName }),
    body: { json: S.JoinBody },
    responses: {
      200: { description: 'Joined', json: z.object({ group: z.string(), member: z.string() }) },
    },
    handler: async ({ ws, params, body }) => {
      await joinGroup(ws, body.identity, params.group);
      return { json: { group: params.group, member: body.identity } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/tokens',
    operationId: 'listTokens',
    summary: 'Tokens the caller may manage, masked: scopes, expiry, last use',
    tags: ['identities'],
    query: z.object({ identity: S.IdentityName.optional() }),
    responses: { 200: { description: 'Tokens', json: z.object({ tokens: z.array(S.Token) }) } },
    handler: async ({ ws, query }) => {
      const visible = await Visibility.of(ws);
      const tokens = [];
      for (const t of await ws.meta.gov.listTokens(query.identity))
        if (await visible.identityTokens(t.identity)) tokens.push(tokenView(t));
      return { json: { tokens } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/roles',
    operationId: 'listRoles',
    summary: 'The roles that can be granted on a dataset (or on every dataset)',
    tags: ['identities'],
    responses: {
      200: { description: 'Roles', json: z.object({ roles: z.array(z.string()) }) },
    },
    handler: () => Promise.resolve({ json: { roles: [...ROLES] } }),
  });

  api.route({
    method: 'get',
    path: '/v1/tokens/settings',
    operationId: 'tokenSettings',
    summary: 'What a new token may hold: the valid scopes and the lifetime limits',
    tags: ['identities'],
    responses: { 200: { description: 'Token settings', json: TokenSettings } },
    handler: ({ ws }) =>
      Promise.resolve({
        json: {
          scopes: [...SCOPES],
          maxLifetimeDays: ws.config.tokens.maxLifetimeDays,
          maxOverlapHours: ws.config.tokens.maxOverlapHours,
        },
      }),
  });

  api.route({
    method: 'post',
    path: '/v1/tokens',
    operationId: 'createToken',
    summary: 'Issue an API token; the response is the only place it is ever shown',
    description:
      "Service-account tokens must expire (at most the workspace's maximum lifetime). Only the token's hash is kept.",
    tags: ['identities'],
    body: { json: S.TokenBody },
    responses: { 201: { description: 'The new token', json: S.CreatedToken } },
    handler: async ({ ws, body }) => {
      const created = await createToken(ws, body.identity, {
        scopes: body.scopes,
        env: body.env,
        ...(body.expiresIn !== undefined ? { expiresInMs: parseDuration(body.expiresIn) } : {}),
      });
      return { status: 201, json: { token: created.token, ...tokenView(created.row) } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/tokens/{keyId}/rotate',
    operationId: 'rotateToken',
    summary: 'Issue a successor token; the old one keeps working only for the overlap',
    tags: ['identities'],
    params: KeyIdParam,
    body: { json: S.RotateBody },
    responses: { 201: { description: 'The successor', json: S.CreatedToken } },
    handler: async ({ ws, params, body }) => {
      await requireToken(ws, params.keyId);
      const r = await rotateToken(ws, params.keyId, parseDuration(body.overlap));
      return {
        status: 201,
        json: { token: r.token, ...tokenView(r.row), oldExpiresAt: r.oldExpiresAt },
      };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/tokens/{keyId}/revoke',
    operationId: 'revokeToken',
    summary: 'Revoke a token; the next request that presents it is refused',
    tags: ['identities'],
    params: KeyIdParam,
    body: { json: S.RevokeBody },
    responses: { 200: { description: 'Revoked', json: S.Token } },
    handler: async ({ ws, params, body }) => {
      await requireToken(ws, params.keyId);
      return { json: tokenView(await revokeToken(ws, params.keyId, body.reason)) };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/nhi/report',
    operationId: 'nhiReport',
    summary: 'Token and bot hygiene, mapped to the OWASP Non-Human Identities Top 10',
    description: 'Needs readAudit on the workspace.',
    tags: ['identities'],
    query: z.object({
      unusedDays: z.coerce.number().int().min(1).max(3650).default(30),
    }),
    responses: { 200: { description: 'Findings', json: S.NhiReport } },
    handler: async ({ ws, query }) => {
      await authorize(ws, 'readAudit', { type: 'Workspace' });
      return { json: await workspaceNhiReport(ws, query.unusedDays) };
    },
  });
}
