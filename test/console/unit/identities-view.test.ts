import { describe, expect, it } from 'vitest';
import {
  maskedToken,
  parseOwners,
  sortFindings,
  tokenStatus,
} from '../../../console/src/pages/identities-view.js';

describe('the Identities page', () => {
  it('shows a token as its prefix and last four only', () => {
    expect(maskedToken('cordon_pat_live_AbCdEf123456_…wxyz')).toBe(
      'cordon_pat_live_AbCdEf123456_…wxyz',
    );
    // Even a whole token (never sent in lists) would be cut to its last four.
    expect(maskedToken('cordon_nhi_test_AbCdEf123456_' + 'S'.repeat(40) + 'tail')).toBe('…');
    expect(maskedToken('cordon_nhi_test_AbCdEf123456_tail')).toBe(
      'cordon_nhi_test_AbCdEf123456_…tail',
    );
    expect(maskedToken('something else')).toBe('…');
  });

  it('tells active, expired and revoked tokens apart', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    expect(tokenStatus({ revokedAt: null, expiresAt: null }, now)).toBe('active');
    expect(tokenStatus({ revokedAt: null, expiresAt: '2026-01-01T00:00:00Z' }, now)).toBe(
      'expired',
    );
    expect(tokenStatus({ revokedAt: '2025-12-01T00:00:00Z', expiresAt: null }, now)).toBe(
      'revoked',
    );
  });

  it('orders findings worst first and reads owners', () => {
    const f = (severity: string, identity: string) => ({ severity, subject: { identity } });
    expect(sortFindings([f('low', 'a'), f('high', 'z'), f('high', 'b')])).toEqual([
      f('high', 'b'),
      f('high', 'z'),
      f('low', 'a'),
    ]);
    expect(parseOwners(' carol, dave  carol,')).toEqual(['carol', 'dave']);
  });
});
