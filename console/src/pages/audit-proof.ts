/**
 * Checks an audit inclusion proof in the browser, independently of the server's own answer.
 *
 * The log is an RFC 9162 Merkle tree: leaf hash = SHA-256(0x00 ‖ leaf), node hash =
 * SHA-256(0x01 ‖ left ‖ right). A leaf is the canonical JSON (RFC 8785: keys sorted, no spaces)
 * of the event's seq, time, actor, kind, dataset, snapshot and detail, where detail is the JSON
 * text exactly as stored (src/core/audit-log.ts `eventLeaf`). Pure code over WebCrypto, so it runs
 * in the browser and in Node alike.
 */

/** The fields of an event that its leaf commits to (detail: the stored JSON text). */
export interface LeafEvent {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  dataset: string | null;
  snapshot: string | null;
  detail: string;
}

export interface ProofInput {
  index: number;
  size: number;
  /** Hex. */
  root: string;
  /** Hex leaf hash, as the server computed it. */
  leaf: string;
  /** Hex sibling hashes, leaf to root. */
  proof: readonly string[];
  event: LeafEvent | null;
}

export interface ProofCheck {
  /** The leaf hash computed here from the event's fields (null without the event). */
  leafHash: string | null;
  /** Does it equal the server's leaf hash? */
  leafMatches: boolean;
  /** The root the audit path leads to from the server's leaf (null: the path is malformed). */
  computedRoot: string | null;
  /** Does the path lead to the checkpoint root? */
  rootMatches: boolean;
  /** Both hold: the event as shown is in the signed log. */
  verified: boolean;
  /** What failed, in words (empty when verified). */
  problem: string;
}

const HEX = /^(?:[0-9a-f]{2})*$/;

export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const h = hex.toLowerCase();
  if (!HEX.test(h)) throw new Error(`not hex: ${hex.slice(0, 16)}`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  let length = 0;
  for (const p of parts) length += p.length;
  const all = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

export const leafHash = (data: Uint8Array): Promise<Uint8Array> => sha256(LEAF, data);
export const nodeHash = (left: Uint8Array, right: Uint8Array): Promise<Uint8Array> =>
  sha256(NODE, left, right);

/**
 * Canonical JSON of a flat object of strings, numbers and nulls (what a leaf holds): keys sorted
 * by UTF-16 code units, strings escaped as JSON.stringify does, numbers in ECMAScript form.
 */
export function canonicalFlatJson(value: Record<string, string | number | null>): string {
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`).join(',')}}`;
}

/** The bytes of an event's leaf, as the server hashes them. */
export function eventLeafBytes(e: LeafEvent): Uint8Array {
  return new TextEncoder().encode(
    canonicalFlatJson({
      seq: e.seq,
      time: e.time,
      actor: e.actor,
      kind: e.kind,
      dataset: e.dataset,
      snapshot: e.snapshot,
      detail: e.detail,
    }),
  );
}

const odd = (x: number): boolean => x % 2 === 1;
const halve = (x: number): number => Math.floor(x / 2);

/**
 * RFC 9162 §2.1.3.2: the root that `proof` leads to from `leaf` at `index` in a tree of `size`
 * leaves, or null when the path cannot belong to such a tree (wrong length, bad index).
 * Plain arithmetic (not 32-bit bit operations), so sizes up to 2^53 work.
 */
export async function rootFromPath(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<Uint8Array | null> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return null;
  if (leaf.length !== 32) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32 || sn === 0) return null;
    if (odd(fn) || fn === sn) {
      // The sibling is on the left; climb past the levels where this node was carried up alone.
      r = await nodeHash(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = halve(fn);
        sn = halve(sn);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = halve(fn);
    sn = halve(sn);
  }
  return sn === 0 ? r : null;
}

/** Checks a proof as the server sent it: the event's leaf, then the path to the root. */
export async function checkProof(input: ProofInput): Promise<ProofCheck> {
  let serverLeaf: Uint8Array;
  let root: Uint8Array;
  let path: Uint8Array[];
  try {
    serverLeaf = fromHex(input.leaf);
    root = fromHex(input.root);
    path = input.proof.map(fromHex);
  } catch (e) {
    return {
      leafHash: null,
      leafMatches: false,
      computedRoot: null,
      rootMatches: false,
      verified: false,
      problem: `the proof is malformed (${e instanceof Error ? e.message : String(e)})`,
    };
  }
  const mine = input.event ? toHex(await leafHash(eventLeafBytes(input.event))) : null;
  const leafMatches = mine !== null && mine === toHex(serverLeaf);
  const computed = await rootFromPath(input.index, input.size, serverLeaf, path);
  const computedRoot = computed ? toHex(computed) : null;
  const rootMatches = computedRoot !== null && computedRoot === toHex(root);
  const problem = !input.event
    ? 'the server did not send the event, so its leaf cannot be rebuilt'
    : !leafMatches
      ? "the event's fields do not hash to the leaf in the proof"
      : computedRoot === null
        ? `the audit path does not fit leaf ${input.index} of a tree of ${input.size}`
        : !rootMatches
          ? 'the audit path leads to another root than the signed checkpoint'
          : '';
  return {
    leafHash: mine,
    leafMatches,
    computedRoot,
    rootMatches,
    verified: leafMatches && rootMatches,
    problem,
  };
}
