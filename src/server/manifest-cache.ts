import { loadManifest, type LoadedManifest } from '../engine/snapshots.js';
import type { Workspace } from '../engine/workspace.js';
import type { SnapshotRow } from '../store/metadata-store.js';

/**
 * Parsed manifests for the record endpoints, by manifest digest. Paging through a snapshot, or
 * showing one record after another in the review queue, would otherwise parse the whole manifest
 * on every request (~2.8 s at 1M rows). Manifests are content-addressed, so an entry never goes
 * stale; it is checked against its digest when it is loaded. Few are kept (a 1M-row manifest
 * parses to a few hundred MiB), and two requests for the same one share a single load.
 */
export class ManifestCache {
  private readonly entries = new Map<string, Promise<LoadedManifest>>();

  constructor(private readonly capacity = 2) {}

  get(ws: Workspace, row: SnapshotRow): Promise<LoadedManifest> {
    // Keyed by the store as well: two workspaces may hold different bytes under their names.
    const key = `${ws.dir}\0${row.manifest_digest}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const loading = loadManifest(ws, row);
    this.entries.set(key, loading);
    loading.catch(() => {
      if (this.entries.get(key) === loading) this.entries.delete(key);
    });
    while (this.entries.size > this.capacity)
      this.entries.delete(this.entries.keys().next().value as string);
    return loading;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The one cache of the server process. */
export const manifestCache = new ManifestCache();
