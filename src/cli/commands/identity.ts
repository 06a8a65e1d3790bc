import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { parseDuration, type TokenEnv } from '../../core/tokens.js';
import {
  addIdentity,
  disableIdentity,
  grantRole,
  joinGroup,
} from '../../engine/governance/identities.js';
import { createToken, revokeToken, rotateToken } from '../../engine/governance/tokens.js';
import { assertUnusedDays, workspaceNhiReport, type NhiView } from '../../engine/governance/nhi.js';
import type { TokenRow } from '../../store/governance-store.js';
import type { Workspace } from '../../engine/workspace.js';
import { collect, fromWorkspaceOrServer, globals, printJson } from '../context.js';
import { table, type Io } from '../io.js';
import { seg } from '../remote/client.js';
import type { ApiCreatedToken, ApiIdentity, ApiToken } from '../remote/types.js';

type TokenView = ReturnType<typeof tokenView>;

/** A token as shown to people: never the secret, only its public id and last four characters. */
function tokenView(t: TokenRow) {
  return {
    keyId: t.key_id,
    identity: t.identity,
    kind: t.kind,
    env: t.env,
    display: `cordon_${t.kind}_${t.env}_${t.key_id}_…${t.last4}`,
    scopes: JSON.parse(t.scopes) as string[],
    createdAt: t.created_at,
    expiresAt: t.expires_at,
    revokedAt: t.revoked_at,
    rotatedFrom: t.rotated_from,
    lastUsedAt: t.last_used_at,
    lastUsedAgent: t.last_used_agent,
  };
}

/** The same view of a token, from the server. */
function apiTokenView(t: ApiToken): TokenView {
  return {
    keyId: t.keyId,
    identity: t.identity,
    kind: t.kind,
    env: t.env,
    display: t.display,
    scopes: t.scopes,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    revokedAt: t.revokedAt,
    rotatedFrom: t.rotatedFrom,
    lastUsedAt: t.lastUsedAt,
    lastUsedAgent: t.lastUsedAgent,
  };
}

interface IssuedToken {
  token: string;
  view: TokenView;
  /** When rotating: the replaced token, and when it stops working. */
  replaced?: { keyId: string; expiresAt: string };
}

function printToken(io: Io, issued: IssuedToken, json: boolean | undefined): void {
  const { token, view } = issued;
  if (json) return printJson(io, { token, ...view });
  const extra = issued.replaced
    ? ` Token ${issued.replaced.keyId} now expires ${issued.replaced.expiresAt}.`
    : '';
  io.stdout(
    `${token}\n\nToken ${view.keyId} for ${view.identity} (${view.scopes.join(', ')}), expires ${view.expiresAt ?? 'never'}.${extra}\nThis is the only time it is shown: store it in a secret manager now. Cordon keeps only its hash.\n`,
  );
}

function printTokens(io: Io, rows: TokenView[], json: boolean | undefined): void {
  if (json) return printJson(io, rows);
  io.stdout(
    table(
      ['KEY ID', 'IDENTITY', 'TOKEN', 'SCOPES', 'EXPIRES', 'LAST USED', 'STATE'],
      rows.map((r) => [
        r.keyId,
        r.identity,
        r.display,
        r.scopes.join(','),
        r.expiresAt ?? 'never',
        r.lastUsedAt ?? 'never',
        r.revokedAt
          ? 'revoked'
          : r.expiresAt && Date.parse(r.expiresAt) <= Date.now()
            ? 'expired'
            : 'active',
      ]),
    ),
  );
}

type IdentityLine = ApiIdentity;

async function localIdentities(ws: Workspace): Promise<IdentityLine[]> {
  const grants = await ws.meta.gov.listGrants();
  const rows = [];
  for (const i of await ws.meta.listIdentities()) {
    rows.push({
      name: i.name,
      kind: i.kind as IdentityLine['kind'],
      keyId: i.key_id,
      owners: JSON.parse(i.owners) as string[],
      groups: await ws.meta.gov.groupsOf(i.name),
      roles: grants
        .filter((g) => g.subject_type !== 'Group' && g.subject === i.name)
        .map((g) => `${g.role}@${g.dataset}`),
      disabledAt: i.disabled_at,
      flag: i.flag,
    });
  }
  return rows;
}

function printIdentities(io: Io, rows: IdentityLine[], json: boolean | undefined): void {
  if (json) return printJson(io, rows);
  io.stdout(
    table(
      ['NAME', 'KIND', 'ROLES', 'OWNERS', 'GROUPS', 'STATE'],
      rows.map((r) => [
        r.name,
        r.kind,
        r.roles.join(' ') || '-',
        r.owners.join(',') || '-',
        r.groups.join(',') || '-',
        r.disabledAt ? `disabled ${r.disabledAt}` : (r.flag ?? 'active'),
      ]),
    ),
  );
}

function printNhi(io: Io, r: NhiView, json: boolean | undefined): void {
  if (json) return printJson(io, { findings: r.findings });
  if (r.findings.length === 0) {
    io.stdout(`No findings across ${r.identities} identities and ${r.tokens} tokens.\n`);
    return;
  }
  io.stdout(
    table(
      ['OWASP', 'SEVERITY', 'IDENTITY', 'TOKEN', 'FINDING'],
      r.findings.map((f) => [
        `${f.item} ${f.title}`,
        f.severity,
        f.subject.identity,
        f.subject.token ?? '-',
        f.message,
      ]),
    ),
  );
}

export function registerIdentity(program: Command, io: Io): void {
  const identity = program
    .command('identity')
    .description('humans and service accounts: who may act, with which roles');

  identity
    .command('add <name>')
    .description('register a human or a service account with a new signing key')
    .option('--service', 'a service account (pipeline, scraper, labelling bot)')
    .option('--owner <human>', 'accountable human owner of a service account (repeatable)', collect)
    .action(async (name: string, opts: { service?: boolean; owner?: string[] }, cmd: Command) => {
      const identity = {
        kind: opts.service ? 'service' : 'human',
        owners: opts.owner ?? [],
      } as const;
      const added = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const row = await addIdentity(ws, name, identity);
          return {
            name,
            kind: row.kind,
            keyId: row.key_id,
            owners: JSON.parse(row.owners) as string[],
          };
        },
        remote: async (api) => {
          const i = await api.post<ApiIdentity>('/v1/identities', { name, ...identity });
          return { name, kind: i.kind, keyId: i.keyId, owners: i.owners };
        },
      });
      if (globals(cmd).json) return printJson(io, added);
      io.stdout(`Added ${added.kind} ${name} (key ${added.keyId})\n`);
    });

  identity
    .command('list')
    .description('list identities, their roles and their state')
    .action(async (_o: unknown, cmd: Command) => {
      const rows = await fromWorkspaceOrServer(cmd, io, {
        local: localIdentities,
        remote: async (api) =>
          (await api.get<{ identities: ApiIdentity[] }>('/v1/identities')).identities,
      });
      printIdentities(io, rows, globals(cmd).json);
    });

  identity
    .command('disable <name>')
    .description(
      'offboard: disable an identity, revoke its tokens, flag the service accounts it owns',
    )
    .requiredOption('--reason <text>', 'why (logged)')
    .action(async (name: string, opts: { reason: string }, cmd: Command) => {
      const r = await fromWorkspaceOrServer(cmd, io, {
        local: (ws) => disableIdentity(ws, name, opts.reason),
        remote: async (api) => {
          const { revokedTokens, flaggedServices } = await api.post<{
            revokedTokens: number;
            flaggedServices: string[];
          }>(`/v1/identities/${seg(name)}/disable`, { reason: opts.reason });
          return { revokedTokens, flaggedServices };
        },
      });
      if (globals(cmd).json) return printJson(io, { name, ...r });
      io.stdout(
        `Disabled ${name}: ${r.revokedTokens} token(s) revoked` +
          (r.flaggedServices.length
            ? `; service accounts needing a new owner: ${r.flaggedServices.join(', ')}`
            : '') +
          '\n',
      );
    });

  for (const [verb, remove] of [
    ['grant', false],
    ['revoke', true],
  ] as const) {
    identity
      .command(`${verb} <subject> <role>`)
      .description(
        `${remove ? 'take away' : 'give'} a role (owner, steward, contributor, labeler, trainer, auditor, admin) on a dataset; subject is an identity or group:<name>`,
      )
      .option('--dataset <name>', 'dataset, or "*" for every dataset', '*')
      .action(async (subject: string, role: string, opts: { dataset: string }, cmd: Command) => {
        const changed = await fromWorkspaceOrServer(cmd, io, {
          local: (ws) => grantRole(ws, subject, role, opts.dataset, remove),
          remote: async (api) =>
            (
              await (remove
                ? api.json<{ changed: boolean }>(
                    'DELETE',
                    `/v1/identities/${seg(subject)}/grants/${seg(role)}`,
                    { query: { dataset: opts.dataset } },
                  )
                : api.post<{ changed: boolean }>(`/v1/identities/${seg(subject)}/grants`, {
                    role,
                    dataset: opts.dataset,
                  }))
            ).changed,
        });
        if (globals(cmd).json)
          return printJson(io, { subject, role, dataset: opts.dataset, changed });
        io.stdout(
          `${remove ? (changed ? 'Revoked' : 'No such grant:') : 'Granted'} ${role} on ${opts.dataset} ${remove ? 'from' : 'to'} ${subject}\n`,
        );
      });
  }

  identity
    .command('join <identity> <group>')
    .description('add an identity to a group (grants to group:<name> then apply to it)')
    .action(async (member: string, group: string, _o: unknown, cmd: Command) => {
      await fromWorkspaceOrServer(cmd, io, {
        local: (ws) => joinGroup(ws, member, group),
        remote: (api) => api.post(`/v1/groups/${seg(group)}/members`, { identity: member }),
      });
      if (globals(cmd).json) return printJson(io, { member, group });
      io.stdout(`${member} joined group ${group}\n`);
    });

  const token = program.command('token').description('API tokens for humans and service accounts');

  token
    .command('create <identity>')
    .description('issue a token (shown once); service-account tokens must expire')
    .requiredOption('--scope <scope>', 'a scope such as datasets:write (repeatable)', collect)
    .option('--expires <duration>', 'lifetime, e.g. 30d, 12h')
    .option('--env <env>', 'live or test', 'live')
    .action(
      async (
        name: string,
        opts: { scope: string[]; expires?: string; env: string },
        cmd: Command,
      ) => {
        if (opts.env !== 'live' && opts.env !== 'test')
          throw new CordonError('USAGE', '--env must be live or test');
        const issued = await fromWorkspaceOrServer<IssuedToken>(cmd, io, {
          local: async (ws) => {
            const created = await createToken(ws, name, {
              scopes: opts.scope,
              env: opts.env as TokenEnv,
              ...(opts.expires !== undefined ? { expiresInMs: parseDuration(opts.expires) } : {}),
            });
            return { token: created.token, view: tokenView(created.row) };
          },
          remote: async (api) => {
            const created = await api.post<ApiCreatedToken>('/v1/tokens', {
              identity: name,
              scopes: opts.scope,
              env: opts.env,
              ...(opts.expires !== undefined ? { expiresIn: opts.expires } : {}),
            });
            return { token: created.token, view: apiTokenView(created) };
          },
        });
        printToken(io, issued, globals(cmd).json);
      },
    );

  token
    .command('list')
    .description('list tokens (masked): scopes, expiry, last use')
    .option('--identity <name>', 'only this identity')
    .action(async (opts: { identity?: string }, cmd: Command) => {
      const rows = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => (await ws.meta.gov.listTokens(opts.identity)).map(tokenView),
        remote: async (api) =>
          (
            await api.get<{ tokens: ApiToken[] }>('/v1/tokens', { identity: opts.identity })
          ).tokens.map(apiTokenView),
      });
      printTokens(io, rows, globals(cmd).json);
    });

  token
    .command('revoke <keyId>')
    .description('revoke a token; the next request using it is refused')
    .option('--reason <text>', 'why (logged)', 'revoked by an administrator')
    .action(async (keyId: string, opts: { reason: string }, cmd: Command) => {
      const view = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => tokenView(await revokeToken(ws, keyId, opts.reason)),
        remote: async (api) =>
          apiTokenView(
            await api.post<ApiToken>(`/v1/tokens/${seg(keyId)}/revoke`, { reason: opts.reason }),
          ),
      });
      if (globals(cmd).json) return printJson(io, view);
      io.stdout(`Revoked token ${keyId} of ${view.identity}\n`);
    });

  token
    .command('rotate <keyId>')
    .description('issue a successor token; the old one keeps working only for the overlap')
    .option('--overlap <duration>', 'how long the old token stays valid', '24h')
    .action(async (keyId: string, opts: { overlap: string }, cmd: Command) => {
      const issued = await fromWorkspaceOrServer<IssuedToken>(cmd, io, {
        local: async (ws) => {
          const r = await rotateToken(ws, keyId, parseDuration(opts.overlap));
          return {
            token: r.token,
            view: tokenView(r.row),
            replaced: { keyId, expiresAt: r.oldExpiresAt },
          };
        },
        remote: async (api) => {
          const r = await api.post<ApiCreatedToken>(`/v1/tokens/${seg(keyId)}/rotate`, {
            overlap: opts.overlap,
          });
          return {
            token: r.token,
            view: apiTokenView(r),
            replaced: { keyId, expiresAt: r.oldExpiresAt ?? '?' },
          };
        },
      });
      printToken(io, issued, globals(cmd).json);
    });

  program
    .command('nhi')
    .description('non-human identity hygiene')
    .command('report')
    .description(
      'tokens without expiry, unused or over-scoped; orphaned service accounts; humans using bot tokens — mapped to the OWASP NHI Top 10',
    )
    .option('--unused-days <n>', 'a token unused this long is stale', '30')
    .action(async (opts: { unusedDays: string }, cmd: Command) => {
      const unusedDays = Number(opts.unusedDays);
      const report = await fromWorkspaceOrServer(cmd, io, {
        local: (ws) => workspaceNhiReport(ws, unusedDays),
        remote: (api) => {
          assertUnusedDays(unusedDays);
          return api.get<NhiView>('/v1/nhi/report', { unusedDays });
        },
      });
      printNhi(io, report, globals(cmd).json);
    });
}
