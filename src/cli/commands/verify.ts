import { type KeyObject } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { keyIdOf, parsePublicKey } from '../../core/keys.js';
import { manifestTree } from '../../core/manifest.js';
import { leafHash, verifyInclusion } from '../../core/merkle.js';
import { EXPORT_FILES } from '../../engine/export.js';
import { loadManifest, resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { verifyExport } from '../../engine/verify-export.js';
import { verifySnapshot } from '../../engine/verify-snapshot.js';
import { trustedKeys } from '../../engine/workspace.js';
import { collect, globals, openFor, printJson, withWorkspace } from '../context.js';
import { short, type Io } from '../io.js';

async function keysFromFiles(files: string[], cwd: string): Promise<Map<string, KeyObject>> {
  const keys = new Map<string, KeyObject>();
  for (const f of files) {
    const key = parsePublicKey(await readFile(resolve(cwd, f), 'utf8'), f);
    keys.set(keyIdOf(key), key);
  }
  return keys;
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
      await withWorkspace(cmd, io, async (ws) => {
        const trusted = opts.key?.length
          ? await keysFromFiles(opts.key, io.cwd)
          : await trustedKeys(ws);
        const rows = target ? [await resolveSnapshot(ws, target)] : await ws.meta.listSnapshots();
        const results = [];
        for (const row of rows) {
          const r = await verifySnapshot(ws, row, trusted);
          results.push(r);
          if (!json)
            io.stdout(
              `OK ${r.snapshot} (${short(row.id)}): ${r.records} records in ${r.segments} segments, ${r.files} files, signed by ${r.signer}\n`,
            );
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
      await withWorkspace(cmd, io, async (ws) => {
        const row = await resolveSnapshot(ws, ref);
        const { entries } = await loadManifest(ws, row);
        const index = entries.findIndex((e) => e.id === id);
        if (index < 0)
          throw new CordonError('RECORD_NOT_FOUND', `${snapshotLabel(row)} has no record "${id}"`);
        const tree = manifestTree(entries);
        const proof = tree.inclusionProof(index);
        const leaf = leafHash(Buffer.from(entries[index]!.digest, 'hex'));
        const ok = verifyInclusion(
          index,
          entries.length,
          leaf,
          proof,
          Buffer.from(row.root, 'hex'),
        );
        const out = {
          snapshot: row.id,
          root: row.root,
          treeSize: entries.length,
          leafIndex: index,
          record: id,
          recordDigest: entries[index]!.digest,
          leafHash: leaf.toString('hex'),
          proof: proof.map((p) => p.toString('hex')),
          verified: ok,
        };
        if (!ok)
          throw new CordonError(
            'VERIFY_FAILED',
            `inclusion proof for "${id}" does not verify against root ${row.root}`,
          );
        if (globals(cmd).json) return printJson(io, out);
        io.stdout(`record "${id}" is leaf ${index} of ${entries.length} under root ${row.root}\n`);
        io.stdout(
          `record digest ${out.recordDigest}\naudit path (${proof.length} hashes):\n${out.proof.map((p) => `  ${p}`).join('\n')}\nverified: yes\n`,
        );
      });
    });
}
