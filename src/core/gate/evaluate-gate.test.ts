import { describe, expect, it } from 'vitest';
import type { IssueKind } from '../scan/types.js';
import {
  GATE_PROPERTIES,
  evaluateGate,
  gateProperties,
  type GateCheck,
  type GateFacts,
  type GateVerdict,
} from './evaluate-gate.js';
import { parseGatePolicy, type GatePolicy } from './gate-policy.js';

const ROOT = 'ab'.repeat(32);
const SCAN_ID = 'cd'.repeat(32);

function kinds(values: Partial<Record<IssueKind, number>> = {}): Record<IssueKind, number> {
  return {
    label: 0,
    exact_duplicate: 0,
    near_duplicate: 0,
    conflicting_label: 0,
    outlier: 0,
    trigger: 0,
    secret: 0,
    pii: 0,
    ...values,
  };
}

/** Facts of a clean, verified, scanned, fully approved snapshot. */
function cleanFacts(): GateFacts {
  return {
    snapshot: {
      id: 'ef'.repeat(32),
      dataset: 'mail',
      version: 3,
      root: ROOT,
      state: 'approved',
      quarantined: false,
    },
    integrity: { verified: true },
    scan: {
      id: SCAN_ID,
      createdAt: '2025-06-01T12:00:00Z',
      rows: 3000,
      counts: kinds(),
      rates: kinds(),
      triggers: [],
      suspiciousSources: [],
    },
    sources: [
      { name: 'inbox', rows: 2000, known: true, trusted: true, quarantined: false },
      { name: 'partner-feed', rows: 1000, known: true, trusted: true, quarantined: false },
    ],
    lineage: { complete: true, problems: [] },
    approvals: { independent: 2, requiredByDataset: 2, approvers: ['alice', 'bob'] },
    now: '2025-06-03T12:00:00Z',
  };
}

function policy(yaml: string): GatePolicy {
  return parseGatePolicy(`version: 1\n${yaml}`, 'gate.yaml');
}

function byId(v: GateVerdict, id: string): GateCheck {
  const c = v.checks.find((k) => k.id === id);
  if (!c) throw new Error(`no check ${id} in ${v.checks.map((k) => k.id).join(', ')}`);
  return c;
}

const FULL = `
scan:
  maxAgeDays: 7
  maxCount: { label: 10, secret: 0 }
  maxRate: { near_duplicate: 0.05 }
provenance: {}
approvals: { min: 2 }
`;

describe('evaluateGate', () => {
  it('passes a clean snapshot and runs exactly the checks the policy asks for', () => {
    const v = evaluateGate(policy(FULL), cleanFacts());
    expect(v.passed).toBe(true);
    expect(v.checks.map((c) => c.id)).toEqual([
      'quarantine',
      'integrity',
      'scan.present',
      'scan.fresh',
      'scan.maxCount.label',
      'scan.maxCount.secret',
      'scan.maxRate.near_duplicate',
      'scan.triggers',
      'scan.secrets',
      'scan.suspiciousSources',
      'scan',
      'provenance.sourcesKnown',
      'provenance.sourcesTrusted',
      'provenance.lineageComplete',
      'approvals',
    ]);
    expect(v.checks.every((c) => c.passed && c.reason.length > 0)).toBe(true);
  });

  it('runs only quarantine and integrity for the minimal policy', () => {
    const v = evaluateGate(policy(''), cleanFacts());
    expect(v.checks.map((c) => c.id)).toEqual(['quarantine', 'integrity']);
    expect(v.passed).toBe(true);
  });

  it('sets properties on passing checks only', () => {
    const pass = evaluateGate(policy(FULL), cleanFacts());
    expect(Object.fromEntries(pass.checks.map((c) => [c.id, c.property]))).toMatchObject({
      quarantine: 'CORDON_NOT_QUARANTINED',
      integrity: 'CORDON_INTEGRITY_VERIFIED',
      'scan.triggers': 'CORDON_NO_TRIGGERS',
      'scan.secrets': 'CORDON_NO_SECRETS',
      scan: 'CORDON_POISON_SCAN_PASSED',
      'provenance.sourcesTrusted': 'CORDON_SOURCES_TRUSTED',
      'provenance.lineageComplete': 'CORDON_LINEAGE_COMPLETE',
      approvals: 'CORDON_TWO_PERSON_APPROVED',
    });

    const f = cleanFacts();
    f.snapshot.quarantined = true;
    f.integrity = { verified: false, error: 'record 17 does not match' };
    f.scan!.counts = kinds({ secret: 1, trigger: 4 });
    f.scan!.triggers = [{ pattern: 'cf', label: 'ham', rows: 4 }];
    f.sources[0]!.trusted = false;
    f.lineage = { complete: false, problems: ['mail@1 has no recorded lineage run'] };
    f.approvals = { independent: 0, requiredByDataset: 2, approvers: [] };
    const fail = evaluateGate(policy(FULL), f);
    for (const c of fail.checks) if (!c.passed) expect(c).not.toHaveProperty('property');
    expect(gateProperties(fail)).toEqual([]);
  });

  describe('quarantine', () => {
    it('fails for a quarantined snapshot, by flag or by state', () => {
      const f = cleanFacts();
      f.snapshot.quarantined = true;
      expect(byId(evaluateGate(policy(''), f), 'quarantine')).toEqual({
        id: 'quarantine',
        passed: false,
        reason: 'snapshot mail@3 is quarantined',
      });
      const g = cleanFacts();
      g.snapshot.state = 'quarantined';
      expect(byId(evaluateGate(policy(''), g), 'quarantine').passed).toBe(false);
    });

    it('fails for a quarantined source and names it', () => {
      const f = cleanFacts();
      f.sources[1]!.quarantined = true;
      const v = evaluateGate(policy(''), f);
      expect(v.passed).toBe(false);
      expect(byId(v, 'quarantine').reason).toBe('1 source quarantined: partner-feed');
    });

    it('passes otherwise', () => {
      expect(byId(evaluateGate(policy(''), cleanFacts()), 'quarantine')).toEqual({
        id: 'quarantine',
        passed: true,
        reason: 'neither the snapshot nor any of its 2 sources is quarantined',
        property: 'CORDON_NOT_QUARANTINED',
      });
    });
  });

  describe('integrity', () => {
    it('fails with the verifier error', () => {
      const f = cleanFacts();
      f.integrity = { verified: false, error: 'segment 2: digest mismatch' };
      expect(byId(evaluateGate(policy(''), f), 'integrity').reason).toBe(
        'integrity verification failed: segment 2: digest mismatch',
      );
    });

    it('fails closed when required but not checked', () => {
      const f = cleanFacts();
      f.integrity = null;
      const c = byId(evaluateGate(policy(''), f), 'integrity');
      expect(c.passed).toBe(false);
      expect(c.reason).toContain('not verified');
    });

    it('is not checked when the policy skips it', () => {
      const f = cleanFacts();
      f.integrity = null;
      const v = evaluateGate(policy('integrity: skip\n'), f);
      expect(v.checks.map((c) => c.id)).toEqual(['quarantine']);
      expect(v.passed).toBe(true);
    });

    it('names the root when it passes', () => {
      const c = byId(evaluateGate(policy(''), cleanFacts()), 'integrity');
      expect(c.passed).toBe(true);
      expect(c.reason).toContain('mail@3');
      expect(c.reason).toContain(ROOT.slice(0, 12));
    });
  });

  describe('scan', () => {
    it('fails every scan check with "no recorded scan" when there is none', () => {
      const f = cleanFacts();
      f.scan = null;
      const v = evaluateGate(policy(FULL), f);
      const scanChecks = v.checks.filter((c) => c.id === 'scan' || c.id.startsWith('scan.'));
      expect(scanChecks).toHaveLength(9);
      for (const c of scanChecks) {
        expect(c.passed).toBe(false);
        expect(c.reason).toBe('no recorded scan of this snapshot');
      }
    });

    it('without required, still fails limits when there is no scan, but drops scan.present', () => {
      const f = cleanFacts();
      f.scan = null;
      const v = evaluateGate(
        policy('scan:\n  required: false\n  maxCount: { label: 0 }\n  triggers: allow\n'),
        f,
      );
      expect(v.checks.map((c) => [c.id, c.passed])).toEqual([
        ['quarantine', true],
        ['integrity', true],
        ['scan.maxCount.label', false],
        ['scan.secrets', false],
        ['scan.suspiciousSources', false],
        ['scan', false],
      ]);
    });

    it('with no scan checks at all, asserts nothing about the scan', () => {
      const f = cleanFacts();
      f.scan = null;
      const v = evaluateGate(
        policy(
          'scan:\n  required: false\n  triggers: allow\n  secrets: allow\n  suspiciousSources: allow\n',
        ),
        f,
      );
      expect(v.checks.map((c) => c.id)).toEqual(['quarantine', 'integrity']);
    });

    it('scan.present names the scan', () => {
      const c = byId(evaluateGate(policy('scan: {}\n'), cleanFacts()), 'scan.present');
      expect(c).toEqual({
        id: 'scan.present',
        passed: true,
        reason: `scan ${SCAN_ID.slice(0, 12)} of 3,000 rows recorded at 2025-06-01T12:00:00Z`,
      });
    });

    it('scan.fresh compares the age with maxAgeDays', () => {
      const ok = byId(
        evaluateGate(policy('scan: { maxAgeDays: 7 }\n'), cleanFacts()),
        'scan.fresh',
      );
      expect(ok).toEqual({
        id: 'scan.fresh',
        passed: true,
        reason: 'the scan is 2.0 days old, limit 7 days',
      });
      const stale = byId(
        evaluateGate(policy('scan: { maxAgeDays: 1 }\n'), cleanFacts()),
        'scan.fresh',
      );
      expect(stale).toEqual({
        id: 'scan.fresh',
        passed: false,
        reason: 'the scan is 2.0 days old, limit 1 day',
      });
      const f = cleanFacts();
      f.now = '2025-06-01T18:00:00Z';
      expect(
        byId(evaluateGate(policy('scan: { maxAgeDays: 0.5 }\n'), f), 'scan.fresh').reason,
      ).toBe('the scan is 6.0 hours old, limit 0.5 days');
    });

    it('scan.fresh fails for a scan dated in the future or an unreadable time', () => {
      const f = cleanFacts();
      f.now = '2025-05-30T00:00:00Z';
      const c = byId(evaluateGate(policy('scan: { maxAgeDays: 7 }\n'), f), 'scan.fresh');
      expect(c.passed).toBe(false);
      expect(c.reason).toContain('after the evaluation time');
      f.scan!.createdAt = 'yesterday';
      expect(byId(evaluateGate(policy('scan: { maxAgeDays: 7 }\n'), f), 'scan.fresh').passed).toBe(
        false,
      );
    });

    it('scan.maxCount.<kind> passes at the limit and fails above it', () => {
      const f = cleanFacts();
      f.scan!.counts = kinds({ label: 3, near_duplicate: 1 });
      const v = evaluateGate(policy('scan:\n  maxCount: { label: 0, near_duplicate: 1 }\n'), f);
      expect(byId(v, 'scan.maxCount.label')).toEqual({
        id: 'scan.maxCount.label',
        passed: false,
        reason: '3 label issues, limit 0',
      });
      expect(byId(v, 'scan.maxCount.near_duplicate')).toEqual({
        id: 'scan.maxCount.near_duplicate',
        passed: true,
        reason: '1 near_duplicate issue, limit 1',
      });
      expect(v.passed).toBe(false);
    });

    it('scan.maxRate.<kind> shows percentages and counts', () => {
      const f = cleanFacts();
      f.scan!.counts = kinds({ label: 75, outlier: 30 });
      f.scan!.rates = kinds({ label: 0.025, outlier: 0.01 });
      const v = evaluateGate(policy('scan:\n  maxRate: { label: 0.02, outlier: 0.01 }\n'), f);
      expect(byId(v, 'scan.maxRate.label')).toEqual({
        id: 'scan.maxRate.label',
        passed: false,
        reason: 'label rate 2.50% (75 of 3,000 rows), limit 2.00%',
      });
      expect(byId(v, 'scan.maxRate.outlier').passed).toBe(true);
    });

    it('scan.maxRate uses enough decimals to tell a near miss from the limit', () => {
      const f = cleanFacts();
      f.scan!.rates = kinds({ label: 0.02001 });
      f.scan!.counts = kinds({ label: 60 });
      const c = byId(
        evaluateGate(policy('scan:\n  maxRate: { label: 0.02 }\n'), f),
        'scan.maxRate.label',
      );
      expect(c.passed).toBe(false);
      expect(c.reason).toContain('2.001%');
      expect(c.reason).toContain('limit 2.000%');
    });

    it('scan.triggers names the first few patterns', () => {
      const f = cleanFacts();
      f.scan!.triggers = [
        { pattern: 'cf', label: 'ham', rows: 40 },
        { pattern: 'zq', label: 'spam', rows: 12 },
        { pattern: 'tt', label: 'ham', rows: 1 },
        { pattern: 'mn', label: 'ham', rows: 9 },
      ];
      f.scan!.counts = kinds({ trigger: 62 });
      const c = byId(evaluateGate(policy('scan: {}\n'), f), 'scan.triggers');
      expect(c).toEqual({
        id: 'scan.triggers',
        passed: false,
        reason:
          '4 trigger patterns found: "cf" → ham (40 rows), "zq" → spam (12 rows), "tt" → ham (1 row) and 1 more; 62 rows flagged as trigger',
      });
    });

    it('scan.triggers fails on trigger rows even without a pattern, and passes on none', () => {
      const f = cleanFacts();
      f.scan!.counts = kinds({ trigger: 1 });
      expect(byId(evaluateGate(policy('scan: {}\n'), f), 'scan.triggers').reason).toBe(
        '1 row flagged as trigger',
      );
      expect(byId(evaluateGate(policy('scan: {}\n'), cleanFacts()), 'scan.triggers')).toEqual({
        id: 'scan.triggers',
        passed: true,
        reason: 'no trigger patterns found in 3,000 rows',
        property: 'CORDON_NO_TRIGGERS',
      });
    });

    it('scan.triggers: allow drops the check', () => {
      const f = cleanFacts();
      f.scan!.triggers = [{ pattern: 'cf', label: 'ham', rows: 40 }];
      const v = evaluateGate(policy('scan: { triggers: allow }\n'), f);
      expect(v.checks.some((c) => c.id === 'scan.triggers')).toBe(false);
      expect(v.passed).toBe(true);
    });

    it('scan.secrets fails on any secret finding', () => {
      const f = cleanFacts();
      f.scan!.counts = kinds({ secret: 2 });
      expect(byId(evaluateGate(policy('scan: {}\n'), f), 'scan.secrets')).toEqual({
        id: 'scan.secrets',
        passed: false,
        reason: '2 rows contain secrets, limit 0',
      });
      expect(byId(evaluateGate(policy('scan: {}\n'), cleanFacts()), 'scan.secrets')).toEqual({
        id: 'scan.secrets',
        passed: true,
        reason: 'no secrets found in 3,000 rows',
        property: 'CORDON_NO_SECRETS',
      });
      expect(
        evaluateGate(policy('scan: { secrets: allow }\n'), f).checks.some(
          (c) => c.id === 'scan.secrets',
        ),
      ).toBe(false);
    });

    it('scan.suspiciousSources names the sources', () => {
      const f = cleanFacts();
      f.scan!.suspiciousSources = ['partner-feed', 'scraper'];
      expect(byId(evaluateGate(policy('scan: {}\n'), f), 'scan.suspiciousSources')).toEqual({
        id: 'scan.suspiciousSources',
        passed: false,
        reason: '2 sources flagged as suspicious: partner-feed, scraper',
      });
      expect(
        byId(evaluateGate(policy('scan: {}\n'), cleanFacts()), 'scan.suspiciousSources').passed,
      ).toBe(true);
    });

    it('the summary scan check passes only when every scan check did', () => {
      const ok = byId(evaluateGate(policy('scan: {}\n'), cleanFacts()), 'scan');
      expect(ok).toEqual({
        id: 'scan',
        passed: true,
        reason: `all 4 scan checks passed for scan ${SCAN_ID.slice(0, 12)}`,
        property: 'CORDON_POISON_SCAN_PASSED',
      });
      const f = cleanFacts();
      f.scan!.counts = kinds({ secret: 1, label: 9 });
      const bad = byId(evaluateGate(policy('scan: { maxCount: { label: 5 } }\n'), f), 'scan');
      expect(bad).toEqual({
        id: 'scan',
        passed: false,
        reason: '2 of 5 scan checks failed: scan.maxCount.label, scan.secrets',
      });
    });
  });

  describe('provenance', () => {
    it('sourcesKnown names unregistered sources with their rows', () => {
      const f = cleanFacts();
      f.sources[1]!.known = false;
      f.sources[1]!.trusted = false;
      const v = evaluateGate(
        policy('provenance: { sourcesTrusted: false, lineageComplete: false }\n'),
        f,
      );
      expect(v.checks.map((c) => c.id)).toEqual([
        'quarantine',
        'integrity',
        'provenance.sourcesKnown',
      ]);
      expect(byId(v, 'provenance.sourcesKnown')).toEqual({
        id: 'provenance.sourcesKnown',
        passed: false,
        reason: '1 of 2 sources not registered: partner-feed (1,000 rows)',
      });
      expect(
        byId(evaluateGate(policy('provenance: {}\n'), cleanFacts()), 'provenance.sourcesKnown'),
      ).toEqual({
        id: 'provenance.sourcesKnown',
        passed: true,
        reason: 'all 2 sources are registered',
      });
    });

    it('sourcesTrusted names untrusted sources', () => {
      const f = cleanFacts();
      f.sources[0]!.trusted = false;
      expect(
        byId(evaluateGate(policy('provenance: {}\n'), f), 'provenance.sourcesTrusted'),
      ).toEqual({
        id: 'provenance.sourcesTrusted',
        passed: false,
        reason: '1 of 2 sources not trusted: inbox (2,000 rows)',
      });
      expect(
        byId(evaluateGate(policy('provenance: {}\n'), cleanFacts()), 'provenance.sourcesTrusted'),
      ).toEqual({
        id: 'provenance.sourcesTrusted',
        passed: true,
        reason: 'all 2 sources are trusted',
        property: 'CORDON_SOURCES_TRUSTED',
      });
    });

    it('fails closed when the snapshot names no sources', () => {
      const f = cleanFacts();
      f.sources = [];
      const v = evaluateGate(policy('provenance: { lineageComplete: false }\n'), f);
      expect(byId(v, 'provenance.sourcesKnown').passed).toBe(false);
      expect(byId(v, 'provenance.sourcesTrusted').reason).toBe(
        'the snapshot names no sources, so none can be checked',
      );
    });

    it('lineageComplete lists the first problems', () => {
      const f = cleanFacts();
      f.lineage = {
        complete: false,
        problems: ['mail@1 has no recorded lineage run', 'mail@2: provenance does not verify'],
      };
      expect(
        byId(evaluateGate(policy('provenance: {}\n'), f), 'provenance.lineageComplete'),
      ).toEqual({
        id: 'provenance.lineageComplete',
        passed: false,
        reason:
          'lineage is incomplete (2 problems): mail@1 has no recorded lineage run, mail@2: provenance does not verify',
      });
      expect(
        byId(evaluateGate(policy('provenance: {}\n'), cleanFacts()), 'provenance.lineageComplete')
          .property,
      ).toBe('CORDON_LINEAGE_COMPLETE');
    });
  });

  describe('approvals', () => {
    it('fails below the minimum and names the approvers', () => {
      const f = cleanFacts();
      f.approvals = { independent: 1, requiredByDataset: 1, approvers: ['alice'] };
      expect(byId(evaluateGate(policy('approvals: { min: 2 }\n'), f), 'approvals')).toEqual({
        id: 'approvals',
        passed: false,
        reason: '1 independent approval (alice), 2 required',
      });
    });

    it("follows the dataset's requirement with min: dataset", () => {
      const f = cleanFacts();
      f.approvals = { independent: 2, requiredByDataset: 3, approvers: ['alice', 'bob'] };
      expect(byId(evaluateGate(policy('approvals: {}\n'), f), 'approvals')).toEqual({
        id: 'approvals',
        passed: false,
        reason: '2 independent approvals (alice, bob), 3 required, as the dataset requires',
      });
    });

    it('never passes with zero approvals, even if the dataset requires none', () => {
      const f = cleanFacts();
      f.approvals = { independent: 0, requiredByDataset: 0, approvers: [] };
      expect(byId(evaluateGate(policy('approvals: {}\n'), f), 'approvals')).toEqual({
        id: 'approvals',
        passed: false,
        reason: '0 independent approvals, 1 required, as the dataset requires',
      });
    });

    it('asserts CORDON_APPROVED for one approval, two-person approval for two', () => {
      const f = cleanFacts();
      f.approvals = { independent: 1, requiredByDataset: 1, approvers: ['alice'] };
      const one = evaluateGate(policy('approvals: { min: 1 }\n'), f);
      expect(byId(one, 'approvals').property).toBe('CORDON_APPROVED');
      expect(gateProperties(one)).not.toContain('CORDON_TWO_PERSON_APPROVED');

      const two = evaluateGate(policy('approvals: { min: 1 }\n'), cleanFacts());
      expect(byId(two, 'approvals').property).toBe('CORDON_TWO_PERSON_APPROVED');
      expect(gateProperties(two)).toEqual(
        expect.arrayContaining(['CORDON_APPROVED', 'CORDON_TWO_PERSON_APPROVED']),
      );
    });
  });
});

describe('gateProperties', () => {
  it('lists every passing property, sorted, plus CORDON_GATE_PASSED on a pass', () => {
    expect(gateProperties(evaluateGate(policy(FULL), cleanFacts()))).toEqual([
      'CORDON_APPROVED',
      'CORDON_GATE_PASSED',
      'CORDON_INTEGRITY_VERIFIED',
      'CORDON_LINEAGE_COMPLETE',
      'CORDON_NOT_QUARANTINED',
      'CORDON_NO_SECRETS',
      'CORDON_NO_TRIGGERS',
      'CORDON_POISON_SCAN_PASSED',
      'CORDON_SOURCES_TRUSTED',
      'CORDON_TWO_PERSON_APPROVED',
    ]);
  });

  it('keeps the passing properties of a failed verdict, without CORDON_GATE_PASSED', () => {
    const f = cleanFacts();
    f.scan!.counts = kinds({ secret: 1 });
    const props = gateProperties(evaluateGate(policy(FULL), f));
    expect(props).toContain(GATE_PROPERTIES.notQuarantined);
    expect(props).toContain(GATE_PROPERTIES.triggers);
    expect(props).not.toContain(GATE_PROPERTIES.secrets);
    expect(props).not.toContain(GATE_PROPERTIES.scan);
    expect(props).not.toContain(GATE_PROPERTIES.gatePassed);
  });
});
