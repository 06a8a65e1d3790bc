import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import type { DsseEnvelope } from '../../core/dsse.js';
import type { GateCheck } from '../../core/gate/evaluate-gate.js';
import {
  approvalStatus,
  approveSnapshot,
  promoteSnapshot,
  signApproval,
  type ApprovalStatus,
  type ApproveResult,
} from '../../engine/governance/approvals.js';
import { snapshotState } from '../../engine/governance/facts.js';
import { gateStatus, releaseSnapshot, runGate } from '../../engine/governance/gate.js';
import { resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { fromWorkspaceOrServer, globals, printJson, remoteFor, withWorkspace } from '../context.js';
import { table, type Io } from '../io.js';
import { seg } from '../remote/client.js';
import { remoteSnapshot } from '../remote/rows.js';
import type {
  ApiApprovalStatus,
  ApiApproveResult,
  ApiGateResult,
  ApiStatus,
  ApiWhoami,
} from '../remote/types.js';

async function readEnvelope(io: Io, file: string): Promise<DsseEnvelope> {
  try {
    return JSON.parse(await readFile(resolve(io.cwd, file), 'utf8')) as DsseEnvelope;
  } catch (cause) {
    throw new CordonError('INPUT_INVALID', `${file}: not a JSON DSSE envelope`, { cause });
  }
}

interface Approved {
  snapshot: string;
  label: string;
  approver: string;
  result: ApproveResult;
}

function printApproved(io: Io, a: Approved, json: boolean | undefined): void {
  const r = a.result;
  if (json) return printJson(io, { snapshot: a.snapshot, ...r });
  io.stdout(
    `Approved ${a.label} as ${a.approver}: ${r.status.independent.length} of ${r.status.required} independent approval(s)` +
      (r.promoted ? '; snapshot is now approved\n' : `; state ${r.state}\n`),
  );
}

interface Promoted {
  snapshot: string;
  label: string;
  status: ApprovalStatus;
}

function printPromoted(io: Io, p: Promoted, json: boolean | undefined): void {
  if (json) return printJson(io, { snapshot: p.snapshot, state: 'approved', ...p.status });
  io.stdout(`${p.label} is approved (by ${p.status.independent.join(', ')})\n`);
}

interface Status {
  snapshot: string;
  dataset: string;
  version: number;
  state: string;
  approvals: ApprovalStatus;
  gate: { passed: boolean; run: string | null; reason: string };
  reviewItems: number;
}

function printStatus(io: Io, out: Status, json: boolean | undefined): void {
  if (json) return printJson(io, out);
  io.stdout(
    `${out.dataset}@${out.version}: ${out.state}\n` +
      `approvals: ${out.approvals.independent.length} of ${out.approvals.required} (${out.approvals.independent.join(', ') || 'none'})\n` +
      out.approvals.invalid.map((i) => `  not counted: ${i.approver}: ${i.reason}\n`).join('') +
      `gate: ${out.gate.passed ? 'passed' : 'not passed'} (${out.gate.reason})\n` +
      `review items: ${out.reviewItems}\n`,
  );
}

interface GateRun {
  snapshot: string;
  label: string;
  gate: string;
  passed: boolean;
  checks: GateCheck[];
  envelope: DsseEnvelope;
  signer: string;
}

function printGate(io: Io, g: GateRun, json: boolean | undefined): void {
  if (json) {
    printJson(io, { snapshot: g.snapshot, gate: g.gate, passed: g.passed, checks: g.checks });
    return;
  }
  io.stdout(
    `Gate ${g.passed ? 'PASSED' : 'FAILED'} for ${g.label} (verdict ${g.gate.slice(0, 12)}, signed by ${g.signer})\n\n`,
  );
  io.stdout(
    table(
      ['CHECK', 'RESULT', 'REASON'],
      g.checks.map((c) => [c.id, c.passed ? 'pass' : 'FAIL', c.reason]),
    ),
  );
}

function printReleased(
  io: Io,
  r: { snapshot: string; label: string; model?: string },
  json?: boolean,
): void {
  if (json)
    return printJson(io, {
      snapshot: r.snapshot,
      state: 'released',
      ...(r.model !== undefined ? { model: r.model } : {}),
    });
  io.stdout(`${r.label} is released${r.model !== undefined ? ` for model ${r.model}` : ''}\n`);
}

export function registerApprove(program: Command, io: Io): void {
  program
    .command('approve <snapshot>')
    .description(
      "approve a scanned snapshot: sign its root with your key (stewards; never its author or its bot's owner)",
    )
    .option('--comment <text>', 'what you checked')
    .option('--envelope <file>', 'submit an approval you signed elsewhere (with --sign-only)')
    .option(
      '--sign-only <file>',
      'only write the signed approval to a file; do not record it (local workspace only)',
    )
    .action(
      async (
        ref: string,
        opts: { comment?: string; envelope?: string; signOnly?: string },
        cmd: Command,
      ) => {
        const options = async () => ({
          ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
          ...(opts.envelope ? { envelope: await readEnvelope(io, opts.envelope) } : {}),
        });
        const api = remoteFor(cmd, io);
        if (api) {
          if (opts.signOnly)
            throw new CordonError(
              'USAGE',
              '--sign-only signs with a key in a local workspace; against a server, approve directly or submit an --envelope signed elsewhere',
            );
          const row = await remoteSnapshot(api, ref);
          const r = await api.post<ApiApproveResult>(
            `/v1/snapshots/${seg(row.id)}/approvals`,
            await options(),
          );
          const me = await api.get<ApiWhoami>('/v1/whoami');
          const result = {
            approval: r.approval,
            status: r.status,
            state: r.state,
            promoted: r.promoted,
          };
          printApproved(
            io,
            { snapshot: row.id, label: row.ref, approver: me.name, result },
            globals(cmd).json,
          );
          return;
        }
        await withWorkspace(cmd, io, async (ws) => {
          const row = await resolveSnapshot(ws, ref);
          if (opts.signOnly) {
            const envelope = signApproval(ws, row, opts.comment ? { comment: opts.comment } : {});
            await writeFile(
              resolve(io.cwd, opts.signOnly),
              JSON.stringify(envelope, null, 2) + '\n',
            );
            io.stdout(`Signed an approval of ${snapshotLabel(row)} into ${opts.signOnly}\n`);
            return;
          }
          const result = await approveSnapshot(ws, row, await options());
          printApproved(
            io,
            { snapshot: row.id, label: snapshotLabel(row), approver: ws.identity.name, result },
            globals(cmd).json,
          );
        });
      },
    );

  program
    .command('promote <snapshot>')
    .description('move a scanned snapshot to approved once enough independent approvals exist')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const promoted = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const row = await resolveSnapshot(ws, ref);
          return {
            snapshot: row.id,
            label: snapshotLabel(row),
            status: await promoteSnapshot(ws, row),
          };
        },
        remote: async (api) => {
          const row = await remoteSnapshot(api, ref);
          const r = await api.post<{ approvals: ApiApprovalStatus }>(
            `/v1/snapshots/${seg(row.id)}/promote`,
          );
          return { snapshot: row.id, label: row.ref, status: r.approvals };
        },
      });
      printPromoted(io, promoted, globals(cmd).json);
    });

  program
    .command('status <snapshot>')
    .description('state, approvals (re-verified) and gate result of a snapshot')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const status = await fromWorkspaceOrServer<Status>(cmd, io, {
        local: async (ws) => {
          const row = await resolveSnapshot(ws, ref);
          return {
            snapshot: row.id,
            dataset: row.dataset,
            version: row.version,
            state: await snapshotState(ws, row.id),
            approvals: await approvalStatus(ws, row),
            gate: await gateStatus(ws, row),
            reviewItems: (await ws.meta.gov.listReviewItems({ snapshotId: row.id })).length,
          };
        },
        remote: async (api) => {
          const row = await remoteSnapshot(api, ref);
          const s = await api.get<ApiStatus>(`/v1/snapshots/${seg(row.id)}/status`);
          return {
            snapshot: s.snapshot,
            dataset: row.dataset,
            version: row.version,
            state: s.state,
            approvals: s.approvals,
            gate: s.gate,
            reviewItems: s.reviewItems,
          };
        },
      });
      printStatus(io, status, globals(cmd).json);
    });

  program
    .command('gate <snapshot>')
    .description('evaluate a declarative gate policy and sign the verdict; exit 1 if it fails')
    .requiredOption('--policy <file>', 'gate policy (YAML)')
    .option('--verdict <file>', 'also write the signed verdict (DSSE) here')
    .action(async (ref: string, opts: { policy: string; verdict?: string }, cmd: Command) => {
      const file = resolve(io.cwd, opts.policy);
      const text = await readFile(file, 'utf8').catch((cause: unknown) => {
        throw new CordonError('INPUT_NOT_FOUND', `cannot read gate policy ${opts.policy}`, {
          cause,
        });
      });
      const g = await fromWorkspaceOrServer<GateRun>(cmd, io, {
        local: async (ws) => {
          const row = await resolveSnapshot(ws, ref);
          const r = await runGate(ws, row, { text, file: opts.policy });
          return {
            snapshot: row.id,
            label: snapshotLabel(row),
            gate: r.id,
            ...r.verdict,
            envelope: r.envelope,
            signer: ws.identity.name,
          };
        },
        remote: async (api) => {
          const row = await remoteSnapshot(api, ref);
          const r = await api.json<ApiGateResult>('POST', `/v1/snapshots/${seg(row.id)}/gate`, {
            query: { name: opts.policy },
            body: text,
            contentType: 'application/yaml',
          });
          const me = await api.get<ApiWhoami>('/v1/whoami');
          return {
            snapshot: row.id,
            label: row.ref,
            gate: r.gate,
            passed: r.passed,
            // Optional fields are absent from the JSON, never undefined.
            checks: r.checks as GateCheck[],
            envelope: r.envelope,
            signer: me.name,
          };
        },
      });
      if (opts.verdict)
        await writeFile(resolve(io.cwd, opts.verdict), JSON.stringify(g.envelope, null, 2) + '\n');
      printGate(io, g, globals(cmd).json);
      if (!g.passed) {
        const failed = g.checks.filter((c) => !c.passed);
        throw new CordonError(
          'GATE_FAILED',
          `${g.label} failed ${failed.length} check(s): ${failed.map((c) => c.id).join(', ')}`,
        );
      }
    });

  program
    .command('release <snapshot>')
    .description('mark an approved snapshot that passed its gate as released for training')
    .option('--model <name>', 'the model it is released to train (recorded in the audit log)')
    .action(async (ref: string, opts: { model?: string }, cmd: Command) => {
      const model = opts.model?.trim();
      const options = model !== undefined ? { model } : {};
      const released = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const row = await resolveSnapshot(ws, ref);
          await releaseSnapshot(ws, row, options);
          return { snapshot: row.id, label: snapshotLabel(row), ...options };
        },
        remote: async (api) => {
          const row = await remoteSnapshot(api, ref);
          await api.post(`/v1/snapshots/${seg(row.id)}/release`, options);
          return { snapshot: row.id, label: row.ref, ...options };
        },
      });
      printReleased(io, released, globals(cmd).json);
    });
}
