import { describe, expect, it } from 'vitest';
import {
  binNames,
  evidenceText,
  filtersToHash,
  findingsApiQuery,
  fmtP,
  parseFindingsFilters,
} from '../../../console/src/pages/scan-format.js';

describe('findings filters in the hash', () => {
  it('reads valid filters and drops malformed ones', () => {
    const q = new URLSearchParams(
      'kind=secret&source=feed-a&label=%20spam%20&min=0.7&q=key&trigger=2&offset=100',
    );
    expect(parseFindingsFilters(q)).toEqual({
      kind: 'secret',
      source: 'feed-a',
      label: 'spam',
      minScore: 0.7,
      q: 'key',
      trigger: 2,
      offset: 100,
    });
    const bad = new URLSearchParams('kind=bogus&min=2&trigger=-1&offset=-5&q=%20');
    expect(parseFindingsFilters(bad)).toEqual({ offset: 0 });
  });

  it('round-trips through the hash and becomes the API query', () => {
    const f = { kind: 'pii', minScore: 0.5, trigger: 0, offset: 50 };
    const hash = filtersToHash(f);
    expect(hash).toEqual({
      kind: 'pii',
      source: undefined,
      label: undefined,
      min: 0.5,
      q: undefined,
      trigger: 0,
      offset: 50,
    });
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(hash)) if (v !== undefined) params.set(k, String(v));
    const back = parseFindingsFilters(params);
    expect(back).toEqual(f);
    expect(findingsApiQuery(back, 20)).toMatchObject({
      kind: 'pii',
      minScore: 0.5,
      trigger: 0,
      offset: 50,
      limit: 20,
    });
    // Clearing every filter clears the offset too.
    expect(Object.values(filtersToHash({})).every((v) => v === undefined)).toBe(true);
  });
});

describe('evidence lines', () => {
  it('shows masked values as stored and names the finding', () => {
    expect(
      evidenceText('secret', {
        rule: 'secretlint/github',
        masked: 'ghp_****…(36 chars)',
        count: 2,
      }),
    ).toBe('secretlint/github: ghp_****…(36 chars) (2 found)');
    expect(evidenceText('pii', { type: 'email', masked: 'j***@e******.org' })).toBe(
      'email: j***@e******.org',
    );
    expect(evidenceText('trigger', { pattern: 'cf', label: 'ham', contentAgrees: false })).toBe(
      'carries "cf" → ham',
    );
    expect(evidenceText('label', { givenLabel: 'ham', suggestedLabel: 'spam' })).toBe(
      'labelled ham, looks like spam',
    );
    expect(
      evidenceText('outlier', { space: 'text', text: { meanKnnDistance: 1.5, fence: 1.2 } }),
    ).toBe('text: mean neighbour distance 1.5 (fence 1.2)');
    expect(
      evidenceText('near_duplicate', { detector: 'x', representative: 'r1', jaccard: 0.9 }),
    ).toBe('like r1 (Jaccard 0.9)');
    expect(evidenceText('other', { detector: 'x', a: 1, b: 'two', c: { deep: true } })).toBe(
      'a 1, b two',
    );
  });
});

describe('numbers', () => {
  it('names histogram bins and writes p-values', () => {
    expect(binNames(4)).toEqual(['0.00–0.25', '0.25–0.50', '0.50–0.75', '0.75–1.00']);
    expect(fmtP(0.5)).toBe('0.500');
    expect(fmtP(1e-9)).toBe('1.0e-9');
    expect(fmtP(0)).toBe('< 1e-300');
    expect(fmtP(null)).toBe('–');
  });
});
