import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { nhiReport, type IdentityFacts, type TokenFacts } from '../../core/nhi-report.js';
import { parseDuration, type TokenEnv } from '../../core/tokens.js';
import {
  addIdentity,
  disableIdentity,
  grantRole,
  joinGroup,
} from '../../engine/governance/identities.js';
import { createToken, revokeToken, rotateToken } from '../../engine/governance/tokens.js';
import type { TokenRow } from '../../store/governance-store.js';
import { collect, globals, printJson, withWorkspace } from '../context.js';
import { table, type Io } from '../io.js';

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

function printToken(io: Io, cmd: Command, token: string, row: TokenRow, extra = ''): void {
  if (globals(cmd).json) return printJson(io, { token, ...tokenView(row) });
  io.stdout(
    `${token}\n\nToken ${row.key_id} for ${row.identity} (${(JSON.parse(row.scopes) as string[]).join(', ')}), expires ${row.expires_at ?? 'never'}.${extra}\nThis is the only time it is shown: store it in a secret manager now. Cordon keeps only its hash.\n`,
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
      await withWorkspace(cmd, io, async (ws) => {
        const row = await addIdentity(ws, name, {
          kind: opts.service ? 'service' : 'human',
          owners: opts.owner ?? [],
        });
        if (globals(cmd).json)
          return printJson(io, {
            name,
            kind: row.kind,
            keyId: row.key_id,
            owners: JSON.parse(row.owners) as string[],
          });
        io.stdout(`Added ${row.kind} ${name} (key ${row.key_id})\n`);
      });
    });

  identity
    .command('list')
    .description('list identities, their roles and their state')
    .action(async (_o: unknown, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const grants = await ws.meta.gov.listGrants();
        const rows = [];
        for (const i of await ws.meta.listIdentities()) {
          rows.push({
            name: i.name,
            kind: i.kind,
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
        if (globals(cmd).json) return printJson(io, rows);
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
      });
    });

  identity
    .command('disable <name>')
    .description(
      'offboard: disable an identity, revoke its tokens, flag the service accounts it owns',
    )
    .requiredOption('--reason <text>', 'why (logged)')
    .action(async (name: string, opts: { reason: string }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const r = await disableIdentity(ws, name, opts.reason);
        if (globals(cmd).json) return printJson(io, { name, ...r });
        io.stdout(
          `Disabled ${name}: ${r.revokedTokens} token(s) revoked` +
            (r.flaggedServices.length
              ? `; service accounts needing a new owner: ${r.flaggedServices.join(', ')}`
              : '') +
            '\n',
        );
      });
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
        await withWorkspace(cmd, io, async (ws) => {
          const changed = await grantRole(ws, subject, role, opts.dataset, remove);
          if (globals(cmd).json)
            return printJson(io, { subject, role, dataset: opts.dataset, changed });
          io.stdout(
            `${remove ? (changed ? 'Revoked' : 'No such grant:') : 'Granted'} ${role} on ${opts.dataset} ${remove ? 'from' : 'to'} ${subject}\n`,
          );
        });
      });
  }

  identity
    .command('join <identity> <group>')
    .description('add an identity to a group (grants to group:<name> then apply to it)')
    .action(async (member: string, group: string, _o: unknown, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        await joinGroup(ws, member, group);
        if (globals(cmd).json) return printJson(io, { member, group });
        io.stdout(`${member} joined group ${group}\n`);
      });
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
        await withWorkspace(cmd, io, async (ws) => {
          const created = await createToken(ws, name, {
            scopes: opts.scope,
            env: opts.env as TokenEnv,
            ...(opts.expires !== undefined ? { expiresInMs: parseDuration(opts.expires) } : {}),
          });
          printToken(io, cmd, created.token, created.row);
        });
      },
    );

  token
    .command('list')
    .description('list tokens (masked): scopes, expiry, last use')
    .option('--identity <name>', 'only this identity')
    .action(async (opts: { identity?: string }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const rows = (await ws.meta.gov.listTokens(opts.identity)).map(tokenView);
        if (globals(cmd).json) return printJson(io, rows);
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
      });
    });

  token
    .command('revoke <keyId>')
    .description('revoke a token; the next request using it is refused')
    .option('--reason <text>', 'why (logged)', 'revoked by an administrator')
    .action(async (keyId: string, opts: { reason: string }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const row = await revokeToken(ws, keyId, opts.reason);
        if (globals(cmd).json) return printJson(io, tokenView(row));
        io.stdout(`Revoked token ${keyId} of ${row.identity}\n`);
      });
    });

  token
    .command('rotate <keyId>')
    .description('issue a successor token; the old one keeps working only for the overlap')
    .option('--overlap <duration>', 'how long the old token stays valid', '24h')
    .action(async (keyId: string, opts: { overlap: string }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const r = await rotateToken(ws, keyId, parseDuration(opts.overlap));
        printToken(io, cmd, r.token, r.row, ` Token ${keyId} now expires ${r.oldExpiresAt}.`);
      });
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
      await withWorkspace(cmd, io, async (ws) => {
        const identities: IdentityFacts[] = (await ws.meta.listIdentities()).map((i) => ({
          name: i.name,
          kind: i.kind === 'service' ? 'service' : 'human',
          disabled: i.disabled_at !== null,
          owners: JSON.parse(i.owners) as string[],
        }));
        const tokens: TokenFacts[] = (await ws.meta.gov.listTokens()).map((t) => ({
          keyId: t.key_id,
          identity: t.identity,
          kind: t.kind === 'nhi' ? 'nhi' : 'pat',
          env: t.env === 'test' ? 'test' : 'live',
          scopes: JSON.parse(t.scopes) as string[],
          usedScopes: JSON.parse(t.used_scopes) as string[],
          createdAt: t.created_at,
          expiresAt: t.expires_at,
          revokedAt: t.revoked_at,
          lastUsedAt: t.last_used_at,
          lastUsedInteractive: t.last_used_interactive === 1,
        }));
        const unusedDays = Number(opts.unusedDays);
        if (!Number.isFinite(unusedDays) || unusedDays <= 0)
          throw new CordonError('USAGE', '--unused-days must be a positive number');
        const findings = nhiReport(identities, tokens, {
          now: new Date().toISOString(),
          maxLifetimeDays: ws.config.tokens.maxLifetimeDays,
          unusedDays,
        });
        if (globals(cmd).json) return printJson(io, { findings });
        if (findings.length === 0) {
          io.stdout(
            `No findings across ${identities.length} identities and ${tokens.length} tokens.\n`,
          );
          return;
        }
        io.stdout(
          table(
            ['OWASP', 'SEVERITY', 'IDENTITY', 'TOKEN', 'FINDING'],
            findings.map((f) => [
              `${f.item} ${f.title}`,
              f.severity,
              f.subject.identity,
              f.subject.token ?? '-',
              f.message,
            ]),
          ),
        );
      });
    });
}
