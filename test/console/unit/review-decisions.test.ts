import { describe, expect, it } from 'vitest';
import { parseGatePolicy } from '../../../src/core/gate/gate-policy.js';
import {
  batches,
  decidedCount,
  mergeDecided,
  nextOffset,
  recount,
  statusWords,
  type DecidedItem,
} from '../../../console/src/pages/review-decisions.js';
import { highlightSegments, triggerPatterns } from '../../../console/src/pages/review-highlight.js';
import {
  EXAMPLE_GATE_POLICY,
  policyName,
  releaseModel,
} from '../../../console/src/pages/approvals-example-policy.js';

const item = (id: string, status: DecidedItem['status']): DecidedItem => ({
  id,
  status,
  newLabel: null,
});

describe('review decisions in the console', () => {
  it('moves counts from the old status to the new one', () => {
    const counts = { open: 5, keep: 1, drop: 0, relabel: 0 };
    const after = recount(counts, [item('a', 'open'), item('b', 'keep')], 'drop');
    expect(after).toEqual({ open: 4, keep: 0, drop: 2, relabel: 0 });
    expect(decidedCount(after)).toBe(2);
    // Deciding the same again changes nothing.
    expect(recount(after, [item('a', 'drop')], 'drop')).toEqual(after);
    expect(counts.open).toBe(5);
  });

  it("merges the server's answer by id", () => {
    const merged = mergeDecided([item('a', 'open'), item('b', 'open')], [item('b', 'drop')]);
    expect(merged.map((i) => i.status)).toEqual(['open', 'drop']);
  });

  it('starts the next undecided page after the items still open', () => {
    const page = [item('a', 'drop'), item('b', 'open'), item('c', 'keep'), item('d', 'open')];
    expect(nextOffset(0, 4, 'open', page)).toBe(2);
    expect(nextOffset(8, 4, 'open', page)).toBe(10);
    expect(nextOffset(0, 4, 'decided', page)).toBe(4);
    expect(nextOffset(4, 4, 'all', page)).toBe(8);
  });

  it('batches ids and words statuses', () => {
    expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(batches([], 2)).toEqual([]);
    expect(statusWords('open', null)).toBe('undecided');
    expect(statusWords('relabel', 'spam')).toBe('relabel → spam');
  });

  it('marks trigger patterns as whole words, without case', () => {
    expect(highlightSegments('Buy now via CF-promo today', ['via cf-promo'])).toEqual([
      { text: 'Buy now ', mark: false },
      { text: 'via CF-promo', mark: true },
      { text: ' today', mark: false },
    ]);
    expect(highlightSegments('the cfo said cf', ['cf'])).toEqual([
      { text: 'the cfo said ', mark: false },
      { text: 'cf', mark: true },
    ]);
    // Overlaps merge; nothing to mark leaves the text whole.
    expect(highlightSegments('ab abc', ['ab abc', 'abc'])).toEqual([
      { text: 'ab abc', mark: true },
    ]);
    expect(highlightSegments('plain', [])).toEqual([{ text: 'plain', mark: false }]);
    expect(highlightSegments('', ['x'])).toEqual([]);
    expect(
      triggerPatterns([{ trigger: 'via cf-promo' }, { kind: 'trigger', pattern: 'cf' }, 3]),
    ).toEqual(['via cf-promo', 'cf']);
    expect(triggerPatterns(null)).toEqual([]);
  });

  it('names policies and models as the server accepts them', () => {
    expect(policyName('  ')).toBe('gate.yaml');
    expect(policyName(' training.yaml ')).toBe('training.yaml');
    expect(releaseModel('  ')).toBeUndefined();
    expect(releaseModel(' ranker-2 ')).toBe('ranker-2');
    expect(releaseModel('m'.repeat(300))).toHaveLength(200);
    // The example the gate form starts from is a policy the gate accepts.
    expect(() => parseGatePolicy(EXAMPLE_GATE_POLICY, 'example.yaml')).not.toThrow();
  });
});
