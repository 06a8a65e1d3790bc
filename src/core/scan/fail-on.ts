import { CordonError } from '../errors.js';
import { ISSUE_KINDS, type ScanReport } from './report.js';
import type { IssueKind } from './types.js';

/**
 * `--fail-on` rules: a comma-separated list of
 *   `<kind>`        fail if any row is flagged with that issue kind (`label`, `trigger`, `secret`, …)
 *   `<kind>>N`      fail if more than N rows are
 *   `<kind>>P%`     fail if more than P percent of rows are
 *   `triggers`      fail if any trigger pattern is reported
 *   `sources`       fail if any source is named suspicious
 *   `drift`         fail if class-balance drift against the baseline is significant
 *   `any`           fail on any finding at all
 */
export type FailRule =
  | { kind: IssueKind; above: number; percent: boolean }
  | { kind: 'triggers' | 'sources' | 'drift' | 'any' };

export function parseFailOn(spec: string): FailRule[] {
  const rules: FailRule[] = [];
  const errors: string[] = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([a-z_]+)(?:>(\d+(?:\.\d+)?)(%)?)?$/.exec(raw);
    const name = m?.[1];
    if (!m || name === undefined) {
      errors.push(`"${raw}" is not <kind>, <kind>>N or <kind>>P%`);
      continue;
    }
    if (name === 'triggers' || name === 'sources' || name === 'drift' || name === 'any') {
      if (m[2] !== undefined) errors.push(`"${raw}": ${name} takes no threshold`);
      else rules.push({ kind: name });
    } else if ((ISSUE_KINDS as readonly string[]).includes(name)) {
      rules.push({
        kind: name as IssueKind,
        above: m[2] === undefined ? 0 : Number(m[2]),
        percent: m[3] === '%',
      });
    } else {
      errors.push(
        `"${raw}": unknown kind (use ${[...ISSUE_KINDS, 'triggers', 'sources', 'drift', 'any'].join(', ')})`,
      );
    }
  }
  if (errors.length) throw new CordonError('USAGE', `--fail-on: ${errors.join('; ')}`);
  return rules;
}

/** The reasons the report fails the rules; empty when it passes. */
export function evaluateFailOn(report: ScanReport, rules: readonly FailRule[]): string[] {
  const reasons: string[] = [];
  const s = report.summary;
  for (const rule of rules) {
    if (rule.kind === 'any') {
      if (s.flaggedRows > 0 || report.triggers.length > 0 || s.suspiciousSources.length > 0)
        reasons.push(`${s.flaggedRows} rows flagged`);
    } else if (rule.kind === 'triggers') {
      if (report.triggers.length > 0)
        reasons.push(
          `${report.triggers.length} trigger pattern(s), first "${report.triggers[0]!.pattern}" → ${report.triggers[0]!.label}`,
        );
    } else if (rule.kind === 'sources') {
      if (s.suspiciousSources.length > 0)
        reasons.push(`suspicious source(s): ${s.suspiciousSources.join(', ')}`);
    } else if (rule.kind === 'drift') {
      const drift = s.dataset['drift/class-balance'] as { drift?: boolean } | undefined;
      if (drift?.drift === true) reasons.push('class balance drifted from the baseline');
    } else if ('above' in rule) {
      const n = s.counts[rule.kind];
      const limit = rule.percent ? (rule.above / 100) * report.rows : rule.above;
      if (n > limit)
        reasons.push(
          `${n} rows flagged ${rule.kind} (limit ${rule.percent ? `${rule.above}%` : rule.above})`,
        );
    }
  }
  return reasons;
}
