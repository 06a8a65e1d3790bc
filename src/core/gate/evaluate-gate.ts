/**
 * Evaluates a gate policy against facts the engine gathered about one snapshot. Pure: the facts
 * (including the clock) come in as data, the verdict goes out as data. Every check the policy
 * asks for becomes one GateCheck with a stable id and a one-sentence reason carrying the numbers;
 * a passing check may assert an SVR property (see verdict.ts).
 */
import { ISSUE_KINDS } from '../scan/report.js';
import type { IssueKind } from '../scan/types.js';
import type { GatePolicy } from './gate-policy.js';

export interface GateFacts {
  snapshot: {
    id: string;
    dataset: string;
    version: number;
    root: string;
    state: string;
    quarantined: boolean;
  };
  /** null: not checked (the policy said `integrity: skip`). */
  integrity: { verified: boolean; error?: string } | null;
  /** The most recent recorded scan of this exact snapshot, or null when there is none. */
  scan: null | {
    id: string;
    createdAt: string;
    rows: number;
    counts: Record<IssueKind, number>;
    rates: Record<IssueKind, number>;
    triggers: { pattern: string; label: string; rows: number }[];
    suspiciousSources: string[];
  };
  sources: { name: string; rows: number; known: boolean; trusted: boolean; quarantined: boolean }[];
  lineage: { complete: boolean; problems: string[] };
  approvals: { independent: number; requiredByDataset: number; approvers: string[] };
  /** RFC 3339 time of the evaluation. */
  now: string;
}

export interface GateCheck {
  /** Stable id: 'quarantine', 'integrity', 'scan.present', 'scan.maxCount.label', … */
  id: string;
  passed: boolean;
  /** One sentence with the numbers, naming the first few offenders. */
  reason: string;
  /** The SVR property this check asserts; only ever set on a passing check. */
  property?: string;
}

export interface GateVerdict {
  passed: boolean;
  checks: GateCheck[];
}

/** SVR properties Cordon asserts. Each is set only on a check that passed. */
export const GATE_PROPERTIES = {
  integrity: 'CORDON_INTEGRITY_VERIFIED',
  scan: 'CORDON_POISON_SCAN_PASSED',
  triggers: 'CORDON_NO_TRIGGERS',
  secrets: 'CORDON_NO_SECRETS',
  sourcesTrusted: 'CORDON_SOURCES_TRUSTED',
  lineage: 'CORDON_LINEAGE_COMPLETE',
  approved: 'CORDON_APPROVED',
  twoPerson: 'CORDON_TWO_PERSON_APPROVED',
  notQuarantined: 'CORDON_NOT_QUARANTINED',
  /** Not tied to one check: asserted when every check of the policy passed. */
  gatePassed: 'CORDON_GATE_PASSED',
} as const;

/** How far in the future a scan's timestamp may lie (clock skew) before it counts as bogus. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How many offenders a reason names before it says "and N more". */
const NAMED = 3;

const NO_SCAN = 'no recorded scan of this snapshot';

export function evaluateGate(policy: GatePolicy, facts: GateFacts): GateVerdict {
  const checks: GateCheck[] = [quarantineCheck(facts)];
  if (policy.integrity !== 'skip') checks.push(integrityCheck(facts));
  if (policy.scan !== undefined) checks.push(...scanChecks(policy.scan, facts));
  if (policy.provenance !== undefined) checks.push(...provenanceChecks(policy.provenance, facts));
  if (policy.approvals !== undefined) checks.push(approvalsCheck(policy.approvals, facts));
  return { passed: checks.every((c) => c.passed), checks };
}

/**
 * Every SVR property the verdict asserts: the property of each passing check, CORDON_APPROVED
 * wherever two-person approval was shown (it implies approval), and CORDON_GATE_PASSED when the
 * whole verdict passed. Sorted and without duplicates.
 */
export function gateProperties(verdict: GateVerdict): string[] {
  const props = new Set<string>();
  for (const c of verdict.checks) {
    if (!c.passed || c.property === undefined) continue;
    props.add(c.property);
    if (c.property === GATE_PROPERTIES.twoPerson) props.add(GATE_PROPERTIES.approved);
  }
  if (verdict.passed && verdict.checks.every((c) => c.passed))
    props.add(GATE_PROPERTIES.gatePassed);
  return [...props].sort();
}

function check(id: string, passed: boolean, reason: string, property?: string): GateCheck {
  return passed && property !== undefined
    ? { id, passed, reason, property }
    : { id, passed, reason };
}

function quarantineCheck(f: GateFacts): GateCheck {
  const sources = f.sources.filter((s) => s.quarantined).map((s) => s.name);
  const snapshot = f.snapshot.quarantined || f.snapshot.state === 'quarantined';
  const bad: string[] = [];
  if (snapshot) bad.push(`snapshot ${f.snapshot.dataset}@${f.snapshot.version} is quarantined`);
  if (sources.length)
    bad.push(`${plural(sources.length, 'source')} quarantined: ${named(sources)}`);
  if (bad.length) return check('quarantine', false, `${bad.join('; ')}`);
  return check(
    'quarantine',
    true,
    `neither the snapshot nor any of its ${plural(f.sources.length, 'source')} is quarantined`,
    GATE_PROPERTIES.notQuarantined,
  );
}

function integrityCheck(f: GateFacts): GateCheck {
  if (f.integrity === null)
    return check('integrity', false, 'integrity was not verified, but the policy requires it');
  if (!f.integrity.verified)
    return check(
      'integrity',
      false,
      `integrity verification failed: ${f.integrity.error ?? 'no reason given'}`,
    );
  return check(
    'integrity',
    true,
    `signatures, manifest and records of ${f.snapshot.dataset}@${f.snapshot.version} verified against root ${f.snapshot.root.slice(0, 12)}`,
    GATE_PROPERTIES.integrity,
  );
}

function scanChecks(p: NonNullable<GatePolicy['scan']>, f: GateFacts): GateCheck[] {
  const scan = f.scan;
  const out: GateCheck[] = [];
  if (p.required)
    out.push(
      scan === null
        ? check('scan.present', false, NO_SCAN)
        : check(
            'scan.present',
            true,
            `scan ${scan.id.slice(0, 12)} of ${plural(scan.rows, 'row')} recorded at ${scan.createdAt}`,
          ),
    );

  if (p.maxAgeDays !== undefined) out.push(freshCheck(p.maxAgeDays, f));

  for (const kind of ISSUE_KINDS) {
    const limit = p.maxCount[kind];
    if (limit === undefined) continue;
    const id = `scan.maxCount.${kind}`;
    if (scan === null) {
      out.push(check(id, false, NO_SCAN));
      continue;
    }
    const n = scan.counts[kind];
    out.push(check(id, n <= limit, `${plural(n, `${kind} issue`)}, limit ${limit}`));
  }

  for (const kind of ISSUE_KINDS) {
    const limit = p.maxRate[kind];
    if (limit === undefined) continue;
    const id = `scan.maxRate.${kind}`;
    if (scan === null) {
      out.push(check(id, false, NO_SCAN));
      continue;
    }
    const rate = scan.rates[kind];
    const [r, l] = percentPair(rate, limit);
    out.push(
      check(
        id,
        rate <= limit,
        `${kind} rate ${r} (${scan.counts[kind]} of ${plural(scan.rows, 'row')}), limit ${l}`,
      ),
    );
  }

  if (p.triggers === 'forbid') {
    if (scan === null) out.push(check('scan.triggers', false, NO_SCAN));
    else {
      const patterns = scan.triggers.map(
        (t) => `"${t.pattern}" → ${t.label} (${plural(t.rows, 'row')})`,
      );
      const rows = scan.counts.trigger;
      const parts: string[] = [];
      if (patterns.length)
        parts.push(`${plural(patterns.length, 'trigger pattern')} found: ${named(patterns)}`);
      if (rows > 0) parts.push(`${plural(rows, 'row')} flagged as trigger`);
      out.push(
        parts.length
          ? check('scan.triggers', false, parts.join('; '))
          : check(
              'scan.triggers',
              true,
              `no trigger patterns found in ${plural(scan.rows, 'row')}`,
              GATE_PROPERTIES.triggers,
            ),
      );
    }
  }

  if (p.secrets === 'forbid') {
    if (scan === null) out.push(check('scan.secrets', false, NO_SCAN));
    else {
      const n = scan.counts.secret;
      out.push(
        n > 0
          ? check(
              'scan.secrets',
              false,
              `${plural(n, 'row')} contain${n === 1 ? 's' : ''} secrets, limit 0`,
            )
          : check(
              'scan.secrets',
              true,
              `no secrets found in ${plural(scan.rows, 'row')}`,
              GATE_PROPERTIES.secrets,
            ),
      );
    }
  }

  if (p.suspiciousSources === 'forbid') {
    if (scan === null) out.push(check('scan.suspiciousSources', false, NO_SCAN));
    else {
      const s = scan.suspiciousSources;
      out.push(
        s.length
          ? check(
              'scan.suspiciousSources',
              false,
              `${plural(s.length, 'source')} flagged as suspicious: ${named(s)}`,
            )
          : check('scan.suspiciousSources', true, 'no source was flagged as suspicious'),
      );
    }
  }

  // The summary check behind CORDON_POISON_SCAN_PASSED: present only when the policy asked for at
  // least one scan check, and never passing without a scan (an empty set of checks proves nothing).
  if (out.length > 0) {
    const failed = out.filter((c) => !c.passed).map((c) => c.id);
    if (scan === null) out.push(check('scan', false, NO_SCAN));
    else if (failed.length)
      out.push(
        check(
          'scan',
          false,
          `${failed.length} of ${plural(out.length, 'scan check')} failed: ${named(failed)}`,
        ),
      );
    else
      out.push(
        check(
          'scan',
          true,
          `all ${plural(out.length, 'scan check')} passed for scan ${scan.id.slice(0, 12)}`,
          GATE_PROPERTIES.scan,
        ),
      );
  }
  return out;
}

function freshCheck(maxAgeDays: number, f: GateFacts): GateCheck {
  const id = 'scan.fresh';
  if (f.scan === null) return check(id, false, NO_SCAN);
  const created = Date.parse(f.scan.createdAt);
  const now = Date.parse(f.now);
  if (Number.isNaN(created))
    return check(id, false, `the scan's time "${f.scan.createdAt}" is not a valid timestamp`);
  if (Number.isNaN(now))
    return check(id, false, `the evaluation time "${f.now}" is not a valid timestamp`);
  const ageMs = now - created;
  if (ageMs < -CLOCK_SKEW_MS)
    return check(
      id,
      false,
      `the scan is dated ${f.scan.createdAt}, after the evaluation time ${f.now}`,
    );
  const age = Math.max(0, ageMs) / DAY_MS;
  const shown = age < 1 ? `${(age * 24).toFixed(1)} hours` : `${age.toFixed(1)} days`;
  return check(
    id,
    age <= maxAgeDays,
    `the scan is ${shown} old, limit ${plural(maxAgeDays, 'day')}`,
  );
}

function provenanceChecks(p: NonNullable<GatePolicy['provenance']>, f: GateFacts): GateCheck[] {
  const out: GateCheck[] = [];
  const total = f.sources.length;
  const none = 'the snapshot names no sources, so none can be checked';
  if (p.sourcesKnown) {
    const unknown = f.sources.filter((s) => !s.known);
    out.push(
      total === 0
        ? check('provenance.sourcesKnown', false, none)
        : unknown.length
          ? check(
              'provenance.sourcesKnown',
              false,
              `${unknown.length} of ${plural(total, 'source')} not registered: ${named(unknown.map(withRows))}`,
            )
          : check('provenance.sourcesKnown', true, `all ${plural(total, 'source')} are registered`),
    );
  }
  if (p.sourcesTrusted) {
    const untrusted = f.sources.filter((s) => !s.trusted);
    out.push(
      total === 0
        ? check('provenance.sourcesTrusted', false, none)
        : untrusted.length
          ? check(
              'provenance.sourcesTrusted',
              false,
              `${untrusted.length} of ${plural(total, 'source')} not trusted: ${named(untrusted.map(withRows))}`,
            )
          : check(
              'provenance.sourcesTrusted',
              true,
              `all ${plural(total, 'source')} are trusted`,
              GATE_PROPERTIES.sourcesTrusted,
            ),
    );
  }
  if (p.lineageComplete) {
    const problems = f.lineage.problems;
    out.push(
      f.lineage.complete && problems.length === 0
        ? check(
            'provenance.lineageComplete',
            true,
            'every input traces back to an ingest with signed provenance',
            GATE_PROPERTIES.lineage,
          )
        : check(
            'provenance.lineageComplete',
            false,
            problems.length
              ? `lineage is incomplete (${plural(problems.length, 'problem')}): ${named(problems)}`
              : 'lineage is incomplete',
          ),
    );
  }
  return out;
}

function approvalsCheck(p: NonNullable<GatePolicy['approvals']>, f: GateFacts): GateCheck {
  const a = f.approvals;
  const fromDataset = p.min === 'dataset';
  // Zero required approvals would let CORDON_APPROVED through with nobody's signature.
  const required = Math.max(1, p.min === 'dataset' ? a.requiredByDataset : p.min);
  const by = a.approvers.length ? ` (${named(a.approvers)})` : '';
  const rule = fromDataset ? ', as the dataset requires' : '';
  const reason = `${plural(a.independent, 'independent approval')}${by}, ${required} required${rule}`;
  if (a.independent < required) return check('approvals', false, reason);
  const property = a.independent >= 2 ? GATE_PROPERTIES.twoPerson : GATE_PROPERTIES.approved;
  return check('approvals', true, reason, property);
}

function withRows(s: { name: string; rows: number }): string {
  return `${s.name} (${plural(s.rows, 'row')})`;
}

/** "a, b, c and 4 more": the first few items of a list. */
function named(items: readonly string[]): string {
  const shown = items.slice(0, NAMED).join(', ');
  return items.length > NAMED ? `${shown} and ${items.length - NAMED} more` : shown;
}

function plural(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

/** Formats a rate and its limit as percentages with enough decimals to tell them apart. */
function percentPair(rate: number, limit: number): [string, string] {
  let digits = 2;
  const fmt = (x: number): string => `${(x * 100).toFixed(digits)}%`;
  while (digits < 6 && rate !== limit && fmt(rate) === fmt(limit)) digits++;
  return [fmt(rate), fmt(limit)];
}
