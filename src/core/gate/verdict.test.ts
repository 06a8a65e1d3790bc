import { describe, expect, it } from 'vitest';
import { CordonError } from '../errors.js';
import { STATEMENT_TYPE, parseStatement, statementBytes, type Statement } from '../statement.js';
import type { GateVerdict } from './evaluate-gate.js';
import { SVR_PREDICATE, gateVerdictStatement, parseGateVerdict } from './verdict.js';

const ROOT = 'ab'.repeat(32);
const SNAPSHOT = 'ef'.repeat(32);
const POLICY_DIGEST = '12'.repeat(32);
const SCAN_ID = 'cd'.repeat(32);

const PASSED: GateVerdict = {
  passed: true,
  checks: [
    {
      id: 'quarantine',
      passed: true,
      reason: 'neither the snapshot nor any of its 2 sources is quarantined',
      property: 'CORDON_NOT_QUARANTINED',
    },
    {
      id: 'integrity',
      passed: true,
      reason: 'signatures verified',
      property: 'CORDON_INTEGRITY_VERIFIED',
    },
    { id: 'scan.maxCount.label', passed: true, reason: '0 label issues, limit 5' },
    {
      id: 'approvals',
      passed: true,
      reason: '2 independent approvals (alice, bob), 2 required',
      property: 'CORDON_TWO_PERSON_APPROVED',
    },
  ],
};

const FAILED: GateVerdict = {
  passed: false,
  checks: [
    {
      id: 'quarantine',
      passed: true,
      reason: 'neither the snapshot nor any of its 2 sources is quarantined',
      property: 'CORDON_NOT_QUARANTINED',
    },
    { id: 'scan.secrets', passed: false, reason: '2 rows contain secrets, limit 0' },
  ],
};

function build(verdict: GateVerdict, scanId?: string) {
  return gateVerdictStatement({
    snapshotId: SNAPSHOT,
    root: ROOT,
    verifierId: 'https://cordon.dev/verifiers/gate/v1',
    policy: { uri: 'gate.yaml', digest: POLICY_DIGEST },
    timeCreated: '2025-06-03T12:00:00.000Z',
    verdict,
    ...(scanId === undefined ? {} : { scanId }),
  });
}

/** The statement as loosely typed JSON, so tests can break it in any way. */
interface Raw {
  _type: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: RawPredicate;
}
interface RawPredicate {
  verifier?: { id: string; [extension: string]: unknown };
  timeCreated?: string;
  properties: unknown;
  cordon?: {
    snapshot: string;
    passed: boolean;
    checks: { passed: unknown; property?: string }[];
  };
  [extension: string]: unknown;
}

/** A deep copy as plain JSON, to tamper with. */
function json(s: Statement<unknown>): Raw {
  return JSON.parse(JSON.stringify(s)) as Raw;
}

function malformed(s: unknown): CordonError {
  try {
    parseGateVerdict(s as Statement<unknown>);
  } catch (e) {
    if (e instanceof CordonError) return e;
    throw e;
  }
  throw new Error('expected the verdict to be rejected');
}

describe('gateVerdictStatement', () => {
  it('builds an SVR statement about the snapshot root', () => {
    const s = build(PASSED, SCAN_ID);
    expect(s._type).toBe(STATEMENT_TYPE);
    expect(s.predicateType).toBe(SVR_PREDICATE);
    expect(s.predicateType).toBe('https://in-toto.io/attestation/svr/v0.1');
    expect(s.subject).toEqual([{ name: SNAPSHOT, digest: { sha256: ROOT } }]);
    expect(s.predicate.verifier).toEqual({
      id: 'https://cordon.dev/verifiers/gate/v1',
      policy: { uri: 'gate.yaml', digest: { sha256: POLICY_DIGEST } },
    });
    expect(s.predicate.timeCreated).toBe('2025-06-03T12:00:00.000Z');
    expect(s.predicate.properties).toEqual([
      'CORDON_APPROVED',
      'CORDON_GATE_PASSED',
      'CORDON_INTEGRITY_VERIFIED',
      'CORDON_NOT_QUARANTINED',
      'CORDON_TWO_PERSON_APPROVED',
    ]);
    expect(s.predicate.cordon).toEqual({
      snapshot: SNAPSHOT,
      passed: true,
      checks: PASSED.checks,
      inputs: [{ name: 'scan', digest: { sha256: SCAN_ID } }],
    });
  });

  it('lists only passing properties for a failed verdict, and keeps every check', () => {
    const s = build(FAILED);
    expect(s.predicate.properties).toEqual(['CORDON_NOT_QUARANTINED']);
    expect(s.predicate.cordon.passed).toBe(false);
    expect(s.predicate.cordon.checks).toEqual(FAILED.checks);
    expect(s.predicate.cordon.inputs).toEqual([]);
  });

  it('accepts a policy digest written sha256:<hex>', () => {
    const s = gateVerdictStatement({
      snapshotId: SNAPSHOT,
      root: ROOT,
      verifierId: 'v',
      policy: { uri: 'gate.yaml', digest: `sha256:${POLICY_DIGEST}` },
      timeCreated: '2025-06-03T12:00:00Z',
      verdict: PASSED,
    });
    expect(s.predicate.verifier.policy.digest.sha256).toBe(POLICY_DIGEST);
  });

  it('refuses inputs it could not read back', () => {
    const base = {
      snapshotId: SNAPSHOT,
      root: ROOT,
      verifierId: 'v',
      policy: { uri: 'gate.yaml', digest: POLICY_DIGEST },
      timeCreated: '2025-06-03T12:00:00Z',
      verdict: PASSED,
    };
    expect(() => gateVerdictStatement({ ...base, root: 'not-a-digest' })).toThrow(/root/);
    expect(() => gateVerdictStatement({ ...base, scanId: 'scan-1' })).toThrow(/scan id/);
    expect(() => gateVerdictStatement({ ...base, timeCreated: 'now' })).toThrow(/timeCreated/);
    expect(() =>
      gateVerdictStatement({ ...base, verdict: { passed: true, checks: FAILED.checks } }),
    ).toThrow(/cordon.passed is true but a check failed/);
  });
});

describe('parseGateVerdict', () => {
  it('round-trips a passing and a failing verdict through the signed bytes', () => {
    for (const [verdict, scanId] of [
      [PASSED, SCAN_ID],
      [FAILED, undefined],
    ] as const) {
      const s = build(verdict, scanId);
      const back = parseGateVerdict(parseStatement(statementBytes(s)));
      expect(back).toEqual({
        passed: verdict.passed,
        checks: verdict.checks,
        snapshotId: SNAPSHOT,
        root: ROOT,
        verifierId: 'https://cordon.dev/verifiers/gate/v1',
        timeCreated: '2025-06-03T12:00:00.000Z',
        policy: { uri: 'gate.yaml', digest: POLICY_DIGEST },
        scanId: scanId ?? null,
      });
    }
  });

  it('ignores extension fields it does not know', () => {
    const s = json(build(PASSED));
    s.predicate.extra = { note: 'added by a later version' };
    s.predicate.verifier!.version = { cordon: '0.2.0' };
    expect(parseGateVerdict(s as Statement<unknown>).passed).toBe(true);
  });

  it('rejects another predicate type or statement type', () => {
    const s = json(build(PASSED));
    s.predicateType = 'https://slsa.dev/verification_summary/v1';
    const e = malformed(s);
    expect(e.code).toBe('VERIFY_FAILED');
    expect(e.message).toContain('predicateType');
    const t = json(build(PASSED));
    t._type = 'https://in-toto.io/Statement/v0.1';
    expect(malformed(t).code).toBe('VERIFY_FAILED');
  });

  it('rejects missing or malformed SVR fields', () => {
    for (const tamper of [
      (p: RawPredicate) => delete p.verifier,
      (p: RawPredicate) => (p.verifier!.id = ''),
      (p: RawPredicate) => delete p.timeCreated,
      (p: RawPredicate) => (p.timeCreated = 'June 3rd'),
      (p: RawPredicate) => (p.properties = 'CORDON_GATE_PASSED'),
      (p: RawPredicate) => delete p.cordon,
      (p: RawPredicate) => (p.cordon!.checks = []),
      (p: RawPredicate) => (p.cordon!.checks[0]!.passed = 'yes'),
    ]) {
      const s = json(build(PASSED));
      tamper(s.predicate);
      expect(malformed(s).code).toBe('VERIFY_FAILED');
    }
  });

  it('rejects a subject that is not one snapshot root', () => {
    const none = json(build(PASSED));
    none.subject = [];
    expect(malformed(none).code).toBe('VERIFY_FAILED');
    const bad = json(build(PASSED));
    bad.subject[0]!.digest = { sha512: 'ff' };
    expect(malformed(bad).code).toBe('VERIFY_FAILED');
  });

  it('rejects a verdict that contradicts itself', () => {
    const flipped = json(build(FAILED));
    flipped.predicate.cordon!.passed = true;
    expect(malformed(flipped).message).toContain('a check failed');

    const extra = json(build(FAILED));
    (extra.predicate.properties as string[]).push('CORDON_NO_SECRETS');
    expect(malformed(extra).message).toContain('do not match the checks');

    const claimed = json(build(FAILED));
    claimed.predicate.cordon!.checks[1]!.property = 'CORDON_NO_SECRETS';
    expect(malformed(claimed).message).toContain('failing check scan.secrets asserts');

    const other = json(build(PASSED));
    other.predicate.cordon!.snapshot = '00'.repeat(32);
    expect(malformed(other).message).toContain('is not the subject');
  });
});
