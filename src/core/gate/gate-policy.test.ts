import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GATE_POLICY_SCHEMA, GatePolicyError, parseGatePolicy } from './gate-policy.js';

/** An asymmetric matcher typed as the string it stands for. */
const containing = (s: string): string => expect.stringContaining(s) as string;
const matching = (r: RegExp): string => expect.stringMatching(r) as string;

/** Parses text that must fail and returns the error. */
function problemsOf(text: string): GatePolicyError {
  try {
    parseGatePolicy(text, 'gate.yaml');
  } catch (e) {
    if (e instanceof GatePolicyError) return e;
    throw e;
  }
  throw new Error('expected the policy to be rejected');
}

describe('parseGatePolicy', () => {
  it('accepts the minimal policy and applies the top-level default', () => {
    expect(parseGatePolicy('version: 1\n', 'gate.yaml')).toEqual({
      version: 1,
      integrity: 'required',
    });
  });

  it('fills strict defaults inside a section that is present', () => {
    const p = parseGatePolicy('version: 1\nscan: {}\nprovenance: {}\napprovals: {}\n', 'g.yaml');
    expect(p.scan).toEqual({
      required: true,
      maxCount: {},
      maxRate: {},
      triggers: 'forbid',
      secrets: 'forbid',
      suspiciousSources: 'forbid',
    });
    expect(p.provenance).toEqual({
      sourcesKnown: true,
      sourcesTrusted: true,
      lineageComplete: true,
    });
    expect(p.approvals).toEqual({ min: 'dataset' });
  });

  it('accepts every field with valid values', () => {
    const p = parseGatePolicy(
      [
        'version: 1',
        'integrity: skip',
        'scan:',
        '  required: false',
        '  maxAgeDays: 0.5',
        '  maxCount: { label: 0, near_duplicate: 200, pii: 3 }',
        '  maxRate: { label: 0.02, outlier: 1, trigger: 0 }',
        '  triggers: allow',
        '  secrets: allow',
        '  suspiciousSources: allow',
        'provenance:',
        '  sourcesKnown: false',
        '  sourcesTrusted: true',
        '  lineageComplete: false',
        'approvals:',
        '  min: 3',
      ].join('\n'),
      'gate.yaml',
    );
    expect(p).toEqual({
      version: 1,
      integrity: 'skip',
      scan: {
        required: false,
        maxAgeDays: 0.5,
        maxCount: { label: 0, near_duplicate: 200, pii: 3 },
        maxRate: { label: 0.02, outlier: 1, trigger: 0 },
        triggers: 'allow',
        secrets: 'allow',
        suspiciousSources: 'allow',
      },
      provenance: { sourcesKnown: false, sourcesTrusted: true, lineageComplete: false },
      approvals: { min: 3 },
    });
  });

  it('parses examples/gate.yaml', () => {
    const text = readFileSync(new URL('../../../examples/gate.yaml', import.meta.url), 'utf8');
    const p = parseGatePolicy(text, 'examples/gate.yaml');
    expect(p.version).toBe(1);
    expect(p.integrity).toBe('required');
    expect(p.scan?.maxAgeDays).toBe(7);
    expect(p.scan?.maxRate.label).toBe(0.02);
    expect(p.approvals?.min).toBe(2);
  });

  it('reports every problem at once, with lines and field paths, in a readable message', () => {
    const e = problemsOf(
      [
        'version: 1', // 1
        'scan:', // 2
        '  maxCount:', // 3
        '    lable: 5', // 4
        '    label: -1', // 5
        '  maxRate:', // 6
        '    label: 1.5', // 7
        'approvals:', // 8
        '  min: 0', // 9
      ].join('\n'),
    );
    expect(e.code).toBe('POLICY_INVALID');
    expect(e.problems).toEqual([
      { line: 4, field: 'scan.maxCount.lable', message: containing('unknown field') },
      { line: 5, field: 'scan.maxCount.label', message: 'must be >= 0, got -1' },
      { line: 7, field: 'scan.maxRate.label', message: 'must be <= 1, got 1.5' },
      { line: 9, field: 'approvals.min', message: 'must be >= 1, got 0' },
    ]);
    expect(e.message.split('\n')[0]).toBe('gate.yaml: 4 problems');
    expect(e.message).toContain(
      '\n  line 4, scan.maxCount.lable: unknown field (did you mean "label"?',
    );
    expect(e.problems[0]?.message).toContain('issue kinds: label, exact_duplicate');
  });

  it('names the allowed fields for an unknown top-level key', () => {
    const e = problemsOf('version: 1\nscans:\n  required: true\n');
    expect(e.problems).toEqual([
      {
        line: 2,
        field: 'scans',
        message: containing('did you mean "scan"?'),
      },
    ]);
    expect(e.problems[0]?.message).toContain('version, integrity, scan, provenance, approvals');
    expect(e.message).toBe(`gate.yaml: 1 problem\n  line 2, scans: ${e.problems[0]?.message}`);
  });

  it('rejects unknown fields inside each section', () => {
    const e = problemsOf(
      'version: 1\nscan:\n  fresh: 3\nprovenance:\n  signed: true\napprovals:\n  max: 2\n',
    );
    expect(e.problems.map((p) => [p.line, p.field])).toEqual([
      [3, 'scan.fresh'],
      [5, 'provenance.signed'],
      [7, 'approvals.max'],
    ]);
  });

  it('requires version 1', () => {
    expect(problemsOf('integrity: required\n').problems).toEqual([
      { line: null, field: 'version', message: 'required field is missing' },
    ]);
    expect(problemsOf('version: 2\n').problems).toEqual([
      { line: 1, field: 'version', message: 'must be 1, got 2' },
    ]);
    expect(problemsOf('version: "1"\n').problems[0]?.message).toBe('must be 1, got "1"');
  });

  it('validates integrity', () => {
    expect(problemsOf('version: 1\nintegrity: maybe\n').problems).toEqual([
      { line: 2, field: 'integrity', message: `must be 'required' or 'skip', got "maybe"` },
    ]);
  });

  it('validates scan.required and scan.maxAgeDays', () => {
    const e = problemsOf('version: 1\nscan:\n  required: yes\n  maxAgeDays: 0\n');
    expect(e.problems).toEqual([
      { line: 3, field: 'scan.required', message: 'expected true or false, got "yes"' },
      { line: 4, field: 'scan.maxAgeDays', message: 'must be > 0, got 0' },
    ]);
    expect(problemsOf('version: 1\nscan:\n  maxAgeDays: week\n').problems[0]?.message).toBe(
      'expected a number, got "week"',
    );
  });

  it('validates scan.maxCount: integer counts, known kinds, a map', () => {
    const e = problemsOf(
      'version: 1\nscan:\n  maxCount:\n    label: 2.5\n    poison: 1\n    secret: lots\n',
    );
    expect(e.problems).toEqual([
      { line: 4, field: 'scan.maxCount.label', message: 'expected an integer, got 2.5' },
      { line: 5, field: 'scan.maxCount.poison', message: containing('unknown field') },
      { line: 6, field: 'scan.maxCount.secret', message: 'expected a number, got "lots"' },
    ]);
    expect(problemsOf('version: 1\nscan:\n  maxCount: 5\n').problems).toEqual([
      { line: 3, field: 'scan.maxCount', message: 'expected a map of fields, got 5' },
    ]);
  });

  it('validates scan.maxRate: 0..1 per known kind', () => {
    const e = problemsOf('version: 1\nscan:\n  maxRate: { outlier: -0.1, duplicates: 0.1 }\n');
    expect(e.problems).toEqual([
      {
        line: 3,
        field: 'scan.maxRate.duplicates',
        message: containing('unknown field'),
      },
      { line: 3, field: 'scan.maxRate.outlier', message: 'must be >= 0, got -0.1' },
    ]);
  });

  it('validates triggers, secrets and suspiciousSources', () => {
    const e = problemsOf(
      'version: 1\nscan:\n  triggers: deny\n  secrets: true\n  suspiciousSources: warn\n',
    );
    expect(e.problems).toEqual([
      { line: 3, field: 'scan.triggers', message: `must be 'forbid' or 'allow', got "deny"` },
      { line: 4, field: 'scan.secrets', message: `must be 'forbid' or 'allow', got true` },
      {
        line: 5,
        field: 'scan.suspiciousSources',
        message: `must be 'forbid' or 'allow', got "warn"`,
      },
    ]);
  });

  it('validates provenance flags', () => {
    const e = problemsOf(
      'version: 1\nprovenance:\n  sourcesKnown: 1\n  sourcesTrusted: "true"\n  lineageComplete: null\n',
    );
    expect(e.problems).toEqual([
      { line: 3, field: 'provenance.sourcesKnown', message: 'expected true or false, got 1' },
      {
        line: 4,
        field: 'provenance.sourcesTrusted',
        message: 'expected true or false, got "true"',
      },
      { line: 5, field: 'provenance.lineageComplete', message: 'expected true or false, got null' },
    ]);
  });

  it("validates approvals.min: an integer >= 1 or 'dataset'", () => {
    expect(parseGatePolicy('version: 1\napprovals: { min: dataset }\n', 'g').approvals).toEqual({
      min: 'dataset',
    });
    expect(problemsOf('version: 1\napprovals:\n  min: everyone\n').problems).toEqual([
      {
        line: 3,
        field: 'approvals.min',
        message: `must be an integer >= 1 or 'dataset', got "everyone"`,
      },
    ]);
    expect(problemsOf('version: 1\napprovals:\n  min: 1.5\n').problems[0]?.field).toBe(
      'approvals.min',
    );
  });

  it('points a wrongly typed section at its key', () => {
    expect(problemsOf('version: 1\nscan:\n  - required\n').problems).toEqual([
      { line: 2, field: 'scan', message: 'expected a map of fields, got a list' },
    ]);
    expect(problemsOf('version: 1\nprovenance:\n').problems).toEqual([
      { line: 2, field: 'provenance', message: 'expected a map of fields, got null' },
    ]);
  });

  it('rejects a document that is not a map, and an empty one', () => {
    expect(problemsOf('- version: 1\n').problems).toEqual([
      { line: 1, field: '', message: 'expected a map of fields, got a list' },
    ]);
    expect(problemsOf('# nothing here\n').problems).toEqual([
      { line: null, field: '', message: containing('empty') },
    ]);
  });

  it('reports YAML syntax errors with their lines', () => {
    const e = problemsOf('version: 1\nscan:\n  maxCount: { label: 1\n  secrets: forbid\n');
    expect(e.code).toBe('POLICY_INVALID');
    expect(e.problems.length).toBeGreaterThan(0);
    expect(e.problems[0]?.message).toMatch(/^YAML syntax: /);
    expect(e.problems.every((p) => p.line !== null && p.line >= 3)).toBe(true);
    expect(e.message).toMatch(/^gate\.yaml: \d+ problems?\n {2}line \d+: YAML syntax: /);
  });

  it('reports duplicate keys as syntax errors', () => {
    const e = problemsOf('version: 1\nintegrity: skip\nintegrity: required\n');
    expect(e.problems).toEqual([
      {
        line: 3,
        field: '',
        message: matching(/^YAML syntax: Map keys must be unique/),
      },
    ]);
  });

  it('exports the zod schema', () => {
    expect(GATE_POLICY_SCHEMA.safeParse({ version: 1 }).success).toBe(true);
    expect(GATE_POLICY_SCHEMA.safeParse({ version: 1, extra: true }).success).toBe(false);
  });
});
