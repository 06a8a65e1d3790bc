import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import type { DsseEnvelope } from '../../core/dsse.js';
import {
  approvalStatus,
  approveSnapshot,
  promoteSnapshot,
  signApproval,
} from '../../engine/governance/approvals.js';
import { snapshotState } from '../../engine/governance/facts.js';
import { gateStatus, releaseSnapshot, runGate } from '../../engine/governance/gate.js';
import { resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { globals, printJson, withWorkspace } from '../context.js';
import { table, type Io } from '../io.js';

export function registerApprove(program: Command, io: Io): void {
  program
    .command('approve <snapshot>')
    .description(
      "approve a scanned snapshot: sign its root with your key (stewards; never its author or its bot's owner)",
    )
    .option('--comment <text>', 'what you checked')
    .option('--envelope <file>', 'submit an approval you signed elsewhere (with --sign-only)')
    .option('--sign-only <file>', 'only write the signed approval to a file; do not record it')
    .action(
      async (
        ref: string,
        opts: { comment?: string; envelope?: string; signOnly?: string },
        cmd: Command,
      ) => {
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
          let envelope: DsseEnvelope | undefined;
          if (opts.envelope) {
            const file = resolve(io.cwd, opts.envelope);
            try {
              envelope = JSON.parse(await readFile(file, 'utf8')) as DsseEnvelope;
            } catch (cause) {
              throw new CordonError('INPUT_INVALID', `${opts.envelope}: not a JSON DSSE envelope`, {
                cause,
              });
            }
          }
          const r = await approveSnapshot(ws, row, {
            ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
            ...(envelope ? { envelope } : {}),
          });
          if (globals(cmd).json) return printJson(io, { snapshot: row.id, ...r });
          io.stdout(
            `Approved ${snapshotLabel(row)} as ${ws.identity.name}: ${r.status.independent.length} of ${r.status.required} independent approval(s)` +
              (r.promoted ? '; snapshot is now approved\n' : `; state ${r.state}\n`),
          );
        });
      },
    );

  program
    .command('promote <snapshot>')
    .description('move a scanned snapshot to approved once enough independent approvals exist')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const row = await resolveSnapshot(ws, ref);
        const status = await promoteSnapshot(ws, row);
        if (globals(cmd).json)
          return printJson(io, { snapshot: row.id, state: 'approved', ...status });
        io.stdout(`${snapshotLabel(row)} is approved (by ${status.independent.join(', ')})\n`);
      });
    });

  program
    .command('status <snapshot>')
    .description('state, approvals (re-verified) and gate result of a snapshot')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const row = await resolveSnapshot(ws, ref);
        const out = {
          snapshot: row.id,
          dataset: row.dataset,
          version: row.version,
          state: await snapshotState(ws, row.id),
          approvals: await approvalStatus(ws, row),
          gate: await gateStatus(ws, row),
          reviewItems: (await ws.meta.gov.listReviewItems({ snapshotId: row.id })).length,
        };
        if (globals(cmd).json) return printJson(io, out);
        io.stdout(
          `${snapshotLabel(row)}: ${out.state}\n` +
            `approvals: ${out.approvals.independent.length} of ${out.approvals.required} (${out.approvals.independent.join(', ') || 'none'})\n` +
            out.approvals.invalid
              .map((i) => `  not counted: ${i.approver}: ${i.reason}\n`)
              .join('') +
            `gate: ${out.gate.passed ? 'passed' : 'not passed'} (${out.gate.reason})\n` +
            `review items: ${out.reviewItems}\n`,
        );
      });
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
      await withWorkspace(cmd, io, async (ws) => {
        const row = await resolveSnapshot(ws, ref);
        const r = await runGate(ws, row, { text, file: opts.policy });
        if (opts.verdict)
          await writeFile(
            resolve(io.cwd, opts.verdict),
            JSON.stringify(r.envelope, null, 2) + '\n',
          );
        if (globals(cmd).json) printJson(io, { snapshot: row.id, gate: r.id, ...r.verdict });
        else {
          io.stdout(
            `Gate ${r.verdict.passed ? 'PASSED' : 'FAILED'} for ${snapshotLabel(row)} (verdict ${r.id.slice(0, 12)}, signed by ${ws.identity.name})\n\n`,
          );
          io.stdout(
            table(
              ['CHECK', 'RESULT', 'REASON'],
              r.verdict.checks.map((c) => [c.id, c.passed ? 'pass' : 'FAIL', c.reason]),
            ),
          );
        }
        if (!r.verdict.passed) {
          const failed = r.verdict.checks.filter((c) => !c.passed);
          throw new CordonError(
            'GATE_FAILED',
            `${snapshotLabel(row)} failed ${failed.length} check(s): ${failed.map((c) => c.id).join(', ')}`,
          );
        }
      });
    });

  program
    .command('release <snapshot>')
    .description('mark an approved snapshot that passed its gate as released for training')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const row = await resolveSnapshot(ws, ref);
        await releaseSnapshot(ws, row);
        if (globals(cmd).json) return printJson(io, { snapshot: row.id, state: 'released' });
        io.stdout(`${snapshotLabel(row)} is released\n`);
      });
    });
}
