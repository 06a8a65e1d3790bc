import type { Digest } from '../core/hashing.js';
import type { BlobStaging } from '../store/blob-store.js';

/** A segment closes after a record whose digest starts below this 12-bit value: ~1 in 2048. */
const BOUNDARY_BELOW = 2;
const MAX_SEGMENT_BYTES = 8 << 20;

/**
 * Packs canonical record lines into segment objects. Boundaries are content-defined (they fall
 * after records whose digest has a given prefix), so a snapshot that shares a run of records with
 * its parent in the same order shares the segments too, and one changed record rewrites only the
 * segment around it.
 */
export class SegmentWriter {
  readonly segments: Digest[] = [];
  private lines: string[] = [];
  private bytes = 0;

  constructor(
    private readonly staging: BlobStaging,
    /** Index of the first segment this writer creates (segments inherited from a parent come first). */
    private readonly offset = 0,
  ) {}

  /** Adds one line (without newline); returns the index of the segment that will hold it. */
  add(line: string, digest: Digest): number {
    const index = this.offset + this.segments.length;
    this.lines.push(line);
    this.bytes += line.length + 1;
    if (parseInt(digest.slice(0, 3), 16) < BOUNDARY_BELOW || this.bytes >= MAX_SEGMENT_BYTES) {
      this.pendingFlush = true;
    }
    return index;
  }

  pendingFlush = false;

  async flush(): Promise<void> {
    this.pendingFlush = false;
    if (this.lines.length === 0) return;
    const body = this.lines.join('\n') + '\n';
    this.lines = [];
    this.bytes = 0;
    this.segments.push(await this.staging.put(body));
  }
}
