/**
 * Gate policies: the YAML file that says what a snapshot must show before it may be used for
 * training (see examples/gate.yaml). Parsing is strict and exhaustive: unknown fields are errors,
 * and every problem in the file is reported at once, each with its line and field path.
 */
import { LineCounter, isMap, isScalar, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { CordonError } from '../errors.js';
import { ISSUE_KINDS } from '../scan/report.js';
import type { IssueKind } from '../scan/types.js';

const forbidOrAllow = z.enum(['forbid', 'allow']);

/** One optional limit per issue kind; any other key is an unknown field. */
function perKind<T extends z.ZodType>(limit: T) {
  const shape = Object.fromEntries(ISSUE_KINDS.map((k) => [k, limit.optional()])) as Record<
    IssueKind,
    z.ZodOptional<T>
  >;
  return z.strictObject(shape);
}

// Shapes are kept as named constants so the error messages can list the fields each map accepts.
const SCAN_SHAPE = {
  required: z.boolean().default(true),
  maxAgeDays: z.number().positive().optional(),
  maxCount: perKind(z.int().min(0)).default({}),
  maxRate: perKind(z.number().min(0).max(1)).default({}),
  triggers: forbidOrAllow.default('forbid'),
  secrets: forbidOrAllow.default('forbid'),
  suspiciousSources: forbidOrAllow.default('forbid'),
};

const PROVENANCE_SHAPE = {
  sourcesKnown: z.boolean().default(true),
  sourcesTrusted: z.boolean().default(true),
  lineageComplete: z.boolean().default(true),
};

const APPROVALS_SHAPE = {
  min: z
    .union([z.int().min(1), z.literal('dataset')], {
      error: "must be an integer >= 1 or 'dataset'",
    })
    .default('dataset'),
};

const POLICY_SHAPE = {
  version: z.literal(1),
  integrity: z.enum(['required', 'skip']).default('required'),
  scan: z.strictObject(SCAN_SHAPE).optional(),
  provenance: z.strictObject(PROVENANCE_SHAPE).optional(),
  approvals: z.strictObject(APPROVALS_SHAPE).optional(),
};

/**
 * The gate policy schema. Every section is optional; inside a section that is present, each
 * field left out takes its strict value (a scan is required, triggers, secrets and suspicious
 * sources are forbidden, every provenance property is demanded). Quarantine is not configurable:
 * it is always checked.
 */
export const GATE_POLICY_SCHEMA = z.strictObject(POLICY_SHAPE);

export type GatePolicy = z.output<typeof GATE_POLICY_SCHEMA>;

/** The fields each map of the policy accepts, by dotted path ('' is the top level). */
const KNOWN_FIELDS: Record<string, readonly string[]> = {
  '': Object.keys(POLICY_SHAPE),
  scan: Object.keys(SCAN_SHAPE),
  'scan.maxCount': ISSUE_KINDS,
  'scan.maxRate': ISSUE_KINDS,
  provenance: Object.keys(PROVENANCE_SHAPE),
  approvals: Object.keys(APPROVALS_SHAPE),
};

export interface GatePolicyProblem {
  /** 1-based line in the policy file; null when the problem has no single place (an empty file). */
  line: number | null;
  /** Dotted path of the field, e.g. "scan.maxCount.label"; empty for the document itself. */
  field: string;
  message: string;
}

/** A gate policy that does not parse or validate. `problems` lists every problem found. */
export class GatePolicyError extends CordonError {
  readonly file: string;
  readonly problems: GatePolicyProblem[];

  constructor(file: string, problems: GatePolicyProblem[], options: { cause?: unknown } = {}) {
    const n = problems.length;
    const lines = problems.map((p) => `  ${formatProblem(p)}`);
    super(
      'POLICY_INVALID',
      `${file}: ${n} problem${n === 1 ? '' : 's'}\n${lines.join('\n')}`,
      options,
    );
    this.name = 'GatePolicyError';
    this.file = file;
    this.problems = problems;
  }
}

function formatProblem(p: GatePolicyProblem): string {
  const where = [p.line === null ? null : `line ${p.line}`, p.field || null].filter(
    (s): s is string => s !== null,
  );
  return where.length ? `${where.join(', ')}: ${p.message}` : p.message;
}

/**
 * Parses and validates a gate policy. `file` is used only in messages. Throws GatePolicyError
 * (code POLICY_INVALID) listing every YAML syntax error, or else every schema problem.
 */
export function parseGatePolicy(text: string, file: string): GatePolicy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({
      line: lineCounter.linePos(e.pos[0]).line,
      field: '',
      message: `YAML syntax: ${firstLine(e.message)}`,
    }));
    throw new GatePolicyError(file, problems);
  }

  const value: unknown = doc.toJS();
  if (value === null || value === undefined) {
    throw new GatePolicyError(file, [
      { line: null, field: '', message: 'the policy is empty (it needs at least "version: 1")' },
    ]);
  }
  const result = GATE_POLICY_SCHEMA.safeParse(value);
  if (result.success) return result.data;

  const problems: GatePolicyProblem[] = [];
  for (const issue of result.error.issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        problems.push({
          line: lineOf(doc, lineCounter, keyPath),
          field: keyPath.join('.'),
          message: unknownFieldMessage(path.join('.'), key),
        });
      }
      continue;
    }
    problems.push({
      line: lineOf(doc, lineCounter, path),
      field: path.join('.'),
      message: issueMessage(issue, valueAt(value, path)),
    });
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || a.field.localeCompare(b.field));
  throw new GatePolicyError(file, problems);
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function unknownFieldMessage(parent: string, key: string): string {
  const known = KNOWN_FIELDS[parent] ?? [];
  const close = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
  const what = parent.startsWith('scan.max') ? 'issue kinds' : 'fields';
  const hint = close !== undefined ? `did you mean "${close}"? ` : '';
  return `unknown field (${hint}${what}: ${known.join(', ')})`;
}

function issueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  if (input === undefined) return 'required field is missing';
  const got = `got ${describe(input)}`;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${expectedName(issue.expected)}, ${got}`;
    case 'invalid_value':
      return `must be ${issue.values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(' or ')}, ${got}`;
    case 'too_small':
      return `must be ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}, ${got}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}, ${got}`;
    default:
      return `${issue.message}, ${got}`;
  }
}

function expectedName(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'a string';
    case 'object':
      return 'a map of fields';
    default:
      return expected;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v === 'object' ? 'a map' : typeof v;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * The line of the deepest key along `path` that exists in the document: the field's own key when
 * it is there, else its parent's (for a missing field), else null (a missing top-level field).
 */
function lineOf(doc: Document, lc: LineCounter, path: readonly string[]): number | null {
  let node: unknown = doc.contents;
  let line: number | null = null;
  for (const key of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair === undefined) break;
    const start = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    if (start !== undefined) line = lc.linePos(start).line;
    node = pair.value;
  }
  // A problem with the document itself (a list instead of a map) points at where it starts.
  if (path.length === 0) {
    const start = doc.contents?.range?.[0];
    if (start !== undefined) line = lc.linePos(start).line;
  }
  return line;
}

/** Levenshtein distance, for "did you mean" hints on short field names. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
