import { describe, expect, it } from 'vitest';
import { maskCard, maskEmail, maskIban, maskPhone, maskSecret } from './mask.js';

describe('maskSecret', () => {
  it('keeps at most the first 4 and last 2 characters of long values', () => {
    const v = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
    const m = maskSecret(v);
    expect(m).toHaveLength(v.length);
    expect(m.slice(0, 4)).toBe('ghp_');
    expect(m.slice(-2)).toBe('R8');
    expect(m.slice(4, -2)).toMatch(/^\*+$/);
  });

  it('masks short values completely', () => {
    expect(maskSecret('hunter2')).toBe('*******');
    expect(maskSecret('0123456789abcde')).toBe('*'.repeat(15));
    expect(maskSecret('')).toBe('');
  });

  it('caps the output for huge values without revealing more', () => {
    const v = 'A'.repeat(4) + 'x'.repeat(10_000) + 'ZZ';
    const m = maskSecret(v);
    expect(m.length).toBeLessThan(100);
    expect(m.startsWith('AAAA*')).toBe(true);
    expect(m).toContain('(10000 chars)');
    expect(m).not.toContain('x');
  });
});

describe('PII masks', () => {
  it('e-mail keeps one letter of local part and host, and the TLD', () => {
    expect(maskEmail('john.smith@example.com')).toBe('j*********@e******.com');
    expect(maskEmail('not-an-address')).toBe('**************');
  });
  it('card keeps the last 4 digits and the grouping', () => {
    expect(maskCard('4111 1111 1111 1234')).toBe('**** **** **** 1234');
    expect(maskCard('4111111111111234')).toBe('************1234');
  });
  it('phone keeps "+", separators and the last 2 digits', () => {
    expect(maskPhone('+1 (415) 555-2671')).toBe('+* (***) ***-**71');
    expect(maskPhone('030 1234567')).toBe('*** *****67');
  });
  it('IBAN keeps the country and the last 4', () => {
    expect(maskIban('DE89 3704 0044 0532 0130 00')).toBe('DE' + '*'.repeat(16) + '3000');
  });
});
