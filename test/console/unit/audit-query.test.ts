import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import {
  apiQuery,
  filtersFromQuery,
  isDenial,
  localToIso,
  shortDetail,
} from '../../../console/src/pages/audit-query.js';
import type {
  AuditCheckpoint,
  AuditProofDetail,
  AuditSearchPage,
} from '../../../console/src/pages/audit-types.js';
import type * as R from '../../../src/server/routes/audit.js';

describe('the Audit page search', () => {
  it('reads the search from the URL, newest first unless asked', () => {
    const f = filtersFromQuery(new URLSearchParams('kind=snapshot.&actor=bob&offset=100'));
    expect(f).toEqual({
      kind: 'snapshot.',
      actor: 'bob',
      dataset: '',
      from: '',
      to: '',
      q: '',
      order: 'desc',
      offset: 100,
    });
    expect(filtersFromQuery(new URLSearchParams('order=asc&offset=-3')).order).toBe('asc');
    expect(filtersFromQuery(new URLSearchParams('offset=x')).offset).toBe(0);
  });

  it('asks the API for only the filters given, times in UTC', () => {
    const f = filtersFromQuery(
      new URLSearchParams('kind=+authz.deny+&dataset=spam&from=2025-03-01T10:00&q=+Poison&to=bad'),
    );
    expect(apiQuery(f, 20)).toEqual({
      kind: 'authz.deny',
      actor: undefined,
      dataset: 'spam',
      from: new Date('2025-03-01T10:00').toISOString(),
      to: undefined,
      q: ' Poison',
      order: 'desc',
      offset: undefined,
      limit: 20,
    });
    expect(localToIso('')).toBeUndefined();
    expect(localToIso('2025-01-01T00:00:00Z')).toBe('2025-01-01T00:00:00.000Z');
  });

  it('marks refusals and shortens details', () => {
    expect(isDenial('authz.deny')).toBe(true);
    expect(isDenial('auth.failed')).toBe(true);
    expect(isDenial('snapshot.scan')).toBe(false);
    expect(shortDetail({})).toBe('');
    expect(shortDetail({ a: 'x'.repeat(200) }, 20)).toBe('{"a":"xxxxxxxxxxxxx…');
    expect(shortDetail('one\n two')).toBe('one two');
  });

  it('keeps its response types in step with the server schemas', () => {
    expectTypeOf<AuditSearchPage>().toEqualTypeOf<z.output<typeof R.AuditSearchPage>>();
    expectTypeOf<AuditCheckpoint>().toEqualTypeOf<z.output<typeof R.AuditCheckpoint>>();
    expectTypeOf<AuditProofDetail>().toEqualTypeOf<z.output<typeof R.AuditProofDetail>>();
  });
});
