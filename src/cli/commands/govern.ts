import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import { Authorizer } from '../../engine/authz/authorizer.js';
import { DEFAULT_POLICIES } from '../../engine/authz/default-policies.js';
import { authorize } from '../../engine/governance/authorize.js';
import { datasetGovernance, type DatasetGovernance } from '../../engine/governance/facts.js';
import { configureDataset, setSource } from '../../engine/governance/identities.js';
import { POLICY_DIR, readPolicyFiles } from '../../engine/governance/policies.js';
import { fromWorkspaceOrServer, globals, printJson, withWorkspace } from '../context.js';
import { table, type Io } from '../io.js';
import { seg } from '../remote/client.js';
import { sourceRow } from '../remote/rows.js';
import type { ApiSource } from '../remote/types.js';

interface PolicyList {
  digest: string;
  policies: { id: string; origin: string; doc: string }[];
}

function describeSettings(g: DatasetGovernance): string {
  return `${g.name}: ${g.highImpact ? 'high impact' : 'normal impact'}, ${g.externallySourced ? 'externally sourced' : 'internal'}, needs ${g.requiredApprovals} approval(s), review threshold ${g.reviewThreshold}`;
}

export function registerGovern(program: Command, io: Io): void {
  const dataset = program.command('dataset').description('governance settings of a dataset');

  dataset
    .command('set <name>')
    .description(
      'mark a dataset high-impact or externally sourced, set its approvals and review threshold',
    )
    .option('--high-impact', 'findings go to review; snapshots need at least two approvals')
    .option('--no-high-impact', 'not high impact')
    .option('--external', 'externally sourced: snapshots need at least two approvals')
    .option('--no-external', 'not externally sourced')
    .option('--approvals <n>', 'independent approvals a snapshot needs (at least 1)')
    .option('--review-threshold <x>', 'findings scoring at least this become review items')
    .action(
      async (
        name: string,
        opts: {
          highImpact?: boolean;
          external?: boolean;
          approvals?: string;
          reviewThreshold?: string;
        },
        cmd: Command,
      ) => {
        const settings = {
          ...(opts.highImpact !== undefined ? { highImpact: opts.highImpact } : {}),
          ...(opts.external !== undefined ? { externallySourced: opts.external } : {}),
          ...(opts.approvals !== undefined ? { requiredApprovals: Number(opts.approvals) } : {}),
          ...(opts.reviewThreshold !== undefined
            ? { reviewThreshold: Number(opts.reviewThreshold) }
            : {}),
        };
        const g = await fromWorkspaceOrServer<DatasetGovernance>(cmd, io, {
          local: async (ws) => {
            await configureDataset(ws, name, settings);
            return datasetGovernance(ws, name);
          },
          remote: (api) =>
            api.json<DatasetGovernance>('PATCH', `/v1/datasets/${seg(name)}/settings`, {
              json: settings,
            }),
        });
        if (globals(cmd).json) return printJson(io, g);
        io.stdout(`${describeSettings(g)}\n`);
      },
    );

  dataset
    .command('show <name>')
    .description('governance settings and known sources of a dataset')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { g, sources } = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => ({
          g: await datasetGovernance(ws, name),
          sources: await ws.meta.gov.listSources(name),
        }),
        remote: async (api) => ({
          g: await api.get<DatasetGovernance>(`/v1/datasets/${seg(name)}/settings`),
          sources: (
            await api.get<{ sources: ApiSource[] }>(`/v1/datasets/${seg(name)}/sources`)
          ).sources.map(sourceRow),
        }),
      });
      if (globals(cmd).json) return printJson(io, { ...g, sources });
      io.stdout(`${describeSettings(g)}\n\n`);
      io.stdout(
        table(
          ['SOURCE', 'TRUSTED', 'EXTERNAL'],
          sources.map((s) => [s.name, s.trusted ? 'yes' : 'no', s.external ? 'yes' : 'no']),
        ),
      );
    });

  program
    .command('source <dataset> <source>')
    .description('register a source of a dataset and say whether it is trusted and external')
    .option('--trusted', 'the source is trusted')
    .option('--external', 'the source is outside the organisation')
    .action(
      async (
        ds: string,
        source: string,
        opts: { trusted?: boolean; external?: boolean },
        cmd: Command,
      ) => {
        const flags = { trusted: Boolean(opts.trusted), external: Boolean(opts.external) };
        await fromWorkspaceOrServer(cmd, io, {
          local: (ws) => setSource(ws, ds, source, flags),
          remote: (api) =>
            api.json('PUT', `/v1/datasets/${seg(ds)}/sources/${seg(source)}`, { json: flags }),
        });
        if (globals(cmd).json) return printJson(io, { dataset: ds, source, ...flags });
        io.stdout(
          `${ds}: source ${source} is ${flags.trusted ? 'trusted' : 'untrusted'}${flags.external ? ', external' : ''}\n`,
        );
      },
    );

  const policy = program
    .command('policy')
    .description('the Cedar policies that decide who may do what');

  policy
    .command('list')
    .description("the default policies and the workspace's own")
    .action(async (_o: unknown, cmd: Command) => {
      const list = await fromWorkspaceOrServer<PolicyList>(cmd, io, {
        local: async (ws) => {
          const authorizer = Authorizer.load(await readPolicyFiles(ws.dir));
          return {
            digest: authorizer.digest,
            policies: [
              ...DEFAULT_POLICIES.map((p) => ({ id: p.id, origin: 'default', doc: p.doc })),
              ...authorizer.policyIds
                .filter((id) => !DEFAULT_POLICIES.some((p) => p.id === id))
                .map((id) => ({ id, origin: 'workspace', doc: '' })),
            ],
          };
        },
        remote: (api) => api.get<PolicyList>('/v1/policies'),
      });
      if (globals(cmd).json) return printJson(io, list);
      io.stdout(
        table(
          ['POLICY', 'ORIGIN', 'WHAT IT DOES'],
          list.policies.map((r) => [r.id, r.origin, r.doc]),
        ),
      );
    });

  policy
    .command('check <file>')
    .description('validate a Cedar policy file against the schema and the policies in force')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const text = await readFile(resolve(io.cwd, file), 'utf8').catch((cause: unknown) => {
        throw new CordonError('INPUT_NOT_FOUND', `cannot read ${file}`, { cause });
      });
      const policies = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) =>
          Authorizer.load([...(await readPolicyFiles(ws.dir)), { file, text }]).policyIds.length,
        remote: async (api) =>
          (
            await api.json<{ policies: number }>('POST', '/v1/policies/check', {
              query: { name: file },
              body: text,
              contentType: 'text/plain',
            })
          ).policies,
      });
      if (globals(cmd).json) return printJson(io, { valid: true, policies });
      io.stdout(`${file} is valid (${policies} policies in force with it)\n`);
    });

  policy
    .command('add <file>')
    .description('validate a Cedar policy file and install it in the workspace (admins)')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const text = await readFile(resolve(io.cwd, file), 'utf8').catch((cause: unknown) => {
        throw new CordonError('INPUT_NOT_FOUND', `cannot read ${file}`, { cause });
      });
      const name = basename(file).endsWith('.cedar') ? basename(file) : `${basename(file)}.cedar`;
      await withWorkspace(cmd, io, async (ws) => {
        const authz = await authorize(ws, 'managePolicies', { type: 'Workspace' });
        // Rejected at load with Cedar's own validation messages, before anything is written.
        Authorizer.load([
          ...(await readPolicyFiles(ws.dir)).filter((f) => basename(f.file) !== name),
          { file: join(POLICY_DIR, name), text },
        ]);
        const dir = join(ws.dir, POLICY_DIR);
        await mkdir(dir, { recursive: true });
        const tmp = join(dir, `.${name}.tmp`);
        await writeFile(tmp, text);
        await rename(tmp, join(dir, name));
        await ws.meta.appendEvent({
          time: new Date().toISOString(),
          actor: ws.identity.name,
          kind: 'policy.change',
          dataset: null,
          snapshot_id: null,
          detail: JSON.stringify({ file: join(POLICY_DIR, name), digest: sha256Hex(text), authz }),
        });
        if (globals(cmd).json) return printJson(io, { installed: join(POLICY_DIR, name) });
        io.stdout(`Installed ${join(POLICY_DIR, name)}\n`);
      });
    });
}
