import { type KeyObject } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { keyIdOf, parsePublicKey } from '../../core/keys.js';
import { EXPORT_FILES } from '../../engine/export.js';
import { recordProof } from '../../engine/record-proof.js';
import { resolveSnapshot } from '../../engine/snapshots.js';
import { verifyExport } from '../../engine/verify-export.js';
import { verifySnapshot } from '../../engine/verify-snapshot.js';
import { trustedKeys } from '../../engine/workspace.js';
import {
  collect,
  fromWorkspaceOrServer,
  globals,
  openFor,
  printJson,
  remoteFor,
  serverOf,
  withWorkspace,
} from '../context.js';
import { short, type Io } from '../io.js';
import { seg, type RemoteClient } from '../remote/client.js';
import type {
  ApiDatasetSummary,
  ApiRecordProof,
  ApiSnapshot,
  ApiVerification,
} from '../remote/types.js';

async function keysFromFiles(files: string[], cwd: string): Promise<Map<string, KeyObject>> {
  const keys = new Map<string, KeyObject>();
  for (const f of files) {
    const key = parsePublicKey(await readFile(resolve(cwd, f), 'utf8'), f);
    keys.set(keyIdOf(key), key);
  }
  return keys;
}

type Verified = Awaited<ReturnType<typeof verifySnapshot>>;
type RecordProof = ApiRecordProof;

function printVerified(io: Io, r: Verified, id: string): void {
  io.stdout(
    `OK ${r.snapshot} (${short(id)}): ${r.records} records in ${r.segments} segments, ${r.files} files, signed by ${r.signer}\n`,
  );
}

/**
 * Has the server verify one stored snapshot, or every one the caller may read (in the order of a
 * local run: by dataset, then version), printing each as it is verified.
 */
async function remoteVerify(
  api: RemoteClient,
  io: Io,
  target: string | undefined,
  json: boolean | undefined,
): Promise<void> {
  const refs: string[] = [];
  if (target !== undefined) refs.push(target);
  else
    for (const d of (await api.get<{ datasets: ApiDatasetSummary[] }>('/v1/datasets')).datasets)
      for (const s of (
        await api.get<{ snapshots: ApiSnapshot[] }>(`/v1/datasets/${seg(d.name)}/snapshots`)
      ).snapshots)
        refs.push(s.id);
  const results: Verified[] = [];
  for (const ref of refs) {
    const v = await api.post<ApiVerification>(`/v1/snapshots/${seg(ref)}/verify`);
    const r = {
      snapshot: v.snapshot,
      records: v.records,
      segments: v.segments,
      files: v.files,
      signer: v.signer,
    };
    results.push(r);
    if (!json) printVerified(io, r, v.id);
  }
  if (json) printJson(io, { ok: true, snapshots: results });
  else if (refs.length === 0) io.stdout('No snapshots to verify.\n');
}

export function registerVerify(program: Command, io: Io): void {
  program
    .command('verify [target]')
    .description(
      'verify an exported folder, one stored snapshot, or (no target) every stored snapshot; fails closed',
    )
    .option(
      '--key <file>',
      'trusted public key (PEM); repeatable. Default: the workspace identities',
      collect,
    )
    .action(async (target: string | undefined, opts: { key?: string[] }, cmd: Command) => {
      const json = globals(cmd).json;
      const folder = target ? resolve(io.cwd, target) : undefined;
      if (
        folder &&
        existsSync(folder) &&
        statSync(folder).isDirectory() &&
        existsSync(join(folder, EXPORT_FILES.attestation))
      ) {
        let trusted = await keysFromFiles(opts.key ?? [], io.cwd);
        // An exported folder is verified here, never by a server: only the keys can come from a
        // local workspace.
        if (trusted.size === 0 && serverOf(cmd, io) !== undefined)
          throw new CordonError(
            'USAGE',
            'no trusted key: an exported folder is verified on this machine; pass --key <public key file>',
          );
        if (trusted.size === 0) {
          const ws = await openFor(cmd, io).catch(() => {
            throw new CordonError(
              'USAGE',
              'no trusted key: pass --key <public key file>, or run inside a workspace that knows the signer',
            );
          });
          try {
            trusted = await trustedKeys(ws);
          } finally {
            await ws.close();
          }
        }
        const r = await verifyExport(folder, trusted);
        if (json) return printJson(io, { ok: true, ...r });
        io.stdout(
          `OK ${r.dataset}@${r.version} at ${r.dir}: ${r.records} records, ${r.files} files, ${r.bytes} bytes, root ${short(r.root)}, signed by ${r.signer}\n` +
            (r.gate
              ? `gate verdict: ${r.gate.passed ? 'passed' : 'FAILED'} (signed by ${r.gate.signer})\n`
              : 'no gate verdict in this export\n'),
        );
        return;
      }
      const api = remoteFor(cmd, io);
      if (api) {
        if (opts.key?.length)
          throw new CordonError(
            'USAGE',
            '--key applies to a local workspace or an exported folder; a server verifies its snapshots against its own identities',
          );
        await remoteVerify(api, io, target, json);
        return;
      }
      await withWorkspace(cmd, io, async (ws) => {
        const trusted = opts.key?.length
          ? await keysFromFiles(opts.key, io.cwd)
          : await trustedKeys(ws);
        const rows = target ? [await resolveSnapshot(ws, target)] : await ws.meta.listSnapshots();
        const results = [];
        for (const row of rows) {
          const r = await verifySnapshot(ws, row, trusted);
          results.push(r);
          if (!json) printVerified(io, r, row.id);
        }
        if (json) printJson(io, { ok: true, snapshots: results });
        else if (rows.length === 0) io.stdout('No snapshots to verify.\n');
      });
    });

  program
    .command('proof <snapshot> <record-id>')
    .description(
      "print a Merkle inclusion proof (RFC 9162) that a record is part of a snapshot's signed root",
    )
    .action(async (ref: string, id: string, _opts: unknown, cmd: Command) => {
      const out = await fromWorkspaceOrServer<RecordProof>(cmd, io, {
        local: async (ws) => recordProof(ws, await resolveSnapshot(ws, ref), id),
        // The server checks the proof against the signed root before sending it.
        remote: (api) => api.get<RecordProof>(`/v1/snapshots/${seg(ref)}/records/${seg(id)}/proof`),
      });
      if (globals(cmd).json) return printJson(io, out);
      io.stdout(
        `record "${id}" is leaf ${out.leafIndex} of ${out.treeSize} under root ${out.root}\n`,
      );
      io.stdout(
        `record digest ${out.recordDigest}\naudit path (${out.proof.length} hashes):\n${out.proof.map((p) => `  ${p}`).join('\n')}\nverified: yes\n`,
      );
    });
}
