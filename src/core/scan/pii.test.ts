import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random.js';
import {
  cardIssuer,
  findPii,
  ibanValid,
  IBAN_LENGTHS,
  isCard,
  isPhone,
  luhnValid,
  PII_TYPES,
  piiDetector,
  type PiiType,
} from './pii.js';
import type { ScanRow } from './types.js';

const ALL = new Set<PiiType>(PII_TYPES);

function sampleRows(): ScanRow[] {
  const raw = gunzipSync(readFileSync('data/spamassassin/sample.jsonl.gz')).toString('utf8');
  return raw
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ScanRow);
}

function makers(rnd: () => number) {
  const digits = (n: number, first = '0123456789') => {
    let s = first[Math.floor(rnd() * first.length)] as string;
    for (let i = 1; i < n; i++) s += String(Math.floor(rnd() * 10));
    return s;
  };
  const luhnComplete = (body: string): string => {
    for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return body + d;
    throw new Error('unreachable');
  };
  const card = (): { value: string; issuer: string } => {
    const specs: [string, number, string][] = [
      ['4', 16, 'visa'],
      ['4', 13, 'visa'],
      ['51', 16, 'mastercard'],
      ['55', 16, 'mastercard'],
      ['2221', 16, 'mastercard'],
      ['2720', 16, 'mastercard'],
      ['34', 15, 'amex'],
      ['37', 15, 'amex'],
      ['6011', 16, 'discover'],
      ['65', 16, 'discover'],
      ['3530', 16, 'jcb'],
      ['36', 14, 'diners'],
      ['62', 16, 'unionpay'],
    ];
    const [prefix, len, issuer] = specs[Math.floor(rnd() * specs.length)]!;
    const number = luhnComplete(prefix + digits(len - prefix.length - 1));
    const style = Math.floor(rnd() * 3);
    if (style === 0 || len === 13) return { value: number, issuer };
    const sep = style === 1 ? ' ' : '-';
    const groups =
      len === 15 ? [4, 6, 5] : len === 14 ? [4, 6, 4] : Array.from({ length: len / 4 }, () => 4);
    let at = 0;
    const parts = groups.map((g) => {
      const p = number.slice(at, at + g);
      at += g;
      return p;
    });
    return { value: parts.join(sep), issuer };
  };
  const phone = (): string => {
    const t = Math.floor(rnd() * 9);
    const nxx = () => digits(3, '23456789');
    switch (t) {
      case 0:
        return `+1${nxx()}${nxx()}${digits(4)}`;
      case 1:
        return `+44 20 ${digits(4)} ${digits(4)}`;
      case 2:
        return `+49 30 ${digits(7)}`;
      case 3:
        return `(${nxx()}) ${nxx()}-${digits(4)}`;
      case 4:
        return `${nxx()}-${nxx()}-${digits(4)}`;
      case 5:
        return `${nxx()}.${nxx()}.${digits(4)}`;
      case 6:
        return `1-${nxx()}-${nxx()}-${digits(4)}`;
      case 7:
        return `0${digits(2, '123456789')} ${digits(7)}`;
      default:
        return `06 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`;
    }
  };
  const iban = (): string => {
    const countries = ['DE', 'GB', 'FR', 'NL', 'ES', 'IT', 'BE', 'CH', 'AT', 'IE'];
    const cc = countries[Math.floor(rnd() * countries.length)]!;
    const len = IBAN_LENGTHS[cc]!;
    let bban = cc === 'GB' || cc === 'NL' || cc === 'IE' ? 'ABCD' : '';
    bban += digits(len - 4 - bban.length);
    if (cc === 'IT') bban = 'X' + bban.slice(1);
    // Check digits: 98 − (BBAN ‖ CC ‖ "00" as digits) mod 97.
    const rearranged = (bban + cc + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
    let mod = 0;
    for (const ch of rearranged) mod = (mod * 10 + Number(ch)) % 97;
    const check = String(98 - mod).padStart(2, '0');
    const compact = cc + check + bban;
    return rnd() < 0.5 ? compact : compact.replace(/(.{4})/g, '$1 ').trim();
  };
  const email = (): string => {
    const names = ['john.smith', 'a.b-c', 'maria_r', 'x+tag', 'ops'];
    const hosts = ['example.com', 'mail.example.co.uk', 'corp-x.io', 'uni.edu'];
    return `${names[Math.floor(rnd() * names.length)]}${digits(2)}@${hosts[Math.floor(rnd() * hosts.length)]}`;
  };
  return { card, phone, iban, email };
}

describe('validators', () => {
  it('Luhn, issuers and the published IBAN examples', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(cardIssuer('4111111111111111')).toBe('visa');
    expect(cardIssuer('378282246310005')).toBe('amex');
    expect(cardIssuer('1234567812345670')).toBeUndefined();
    expect(ibanValid('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(ibanValid('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(ibanValid('DE89 3704 0044 0532 0130 01')).toBe(false);
    expect(ibanValid('DE89 3704 0044 0532 0130')).toBe(false); // wrong length for DE
    expect(isCard('0000 0000 0000 0000')).toBe(false);
    expect(isPhone('+14155552671')).toBe(true);
    expect(isPhone('4155552671')).toBe(false); // bare digits: an id as often as a phone
  });
});

describe('leak/pii on planted values in real mail', () => {
  it('finds every planted card, IBAN, phone and e-mail (recall 1.0)', () => {
    const rnd = mulberry32(1234);
    const mk = makers(rnd);
    const base = sampleRows().slice(0, 800);
    const missed: string[] = [];
    let planted = 0;
    base.forEach((r, i) => {
      const type = (['card', 'iban', 'phone', 'email'] as const)[i % 4];
      const value =
        type === 'card'
          ? mk.card().value
          : type === 'iban'
            ? mk.iban()
            : type === 'phone'
              ? mk.phone()
              : mk.email();
      const text = r.text ?? '';
      const pos = text.indexOf('\n\n') >= 0 ? text.indexOf('\n\n') + 2 : text.length;
      const prefix = type === 'phone' ? 'Call me: ' : type === 'card' ? 'Card: ' : '';
      const planted1 = `${text.slice(0, pos)}${prefix}${value}\n${text.slice(pos)}`;
      const start = pos + prefix.length;
      planted++;
      const found = findPii(planted1, ALL);
      const hit = found.some(
        (f) => f.type === type && f.start === start && f.end === start + value.length,
      );
      if (!hit) missed.push(`${type} ${JSON.stringify(value)}`);
    });
    expect(planted).toBe(800);
    expect(missed).toEqual([]);
  });

  it('rejects look-alikes: dates, times, IPs, versions, ids, bad checksums', () => {
    const negatives = [
      'Date: 2002-08-21 and 21.08.2002 and 08/21/2002 at 10:54:46',
      'server 192.168.100.200 runs version 1.2.3.4 of the daemon',
      'Order 12345678901 shipped; tracking 1Z999AA10123456784',
      'Invoice total $1,234,567.89 for ZIP 78701',
      'ISBN 978-3-16-148410-0',
      'card 4111 1111 1111 1112 (Luhn fails)',
      'number 1234 5678 1234 5670 (no issuer)',
      'IBAN DE89 3704 0044 0532 0130 01 (check fails)',
      'timestamp 1030377287 and uid 4852-4852',
      'sid=02/10/07/132252 in a URL path',
      'http://example.com/cgi?id=0301234567&x=1',
    ];
    const hits = negatives.flatMap((t) =>
      findPii(t, ALL).map((f) => `${f.type}: ${t.slice(f.start, f.end)}`),
    );
    expect(hits).toEqual([]);
  });

  it('reports per row with counts, masks every value, and summarises per type', () => {
    const rnd = mulberry32(99);
    const mk = makers(rnd);
    const values: string[] = [];
    const rows: ScanRow[] = Array.from({ length: 200 }, (_, i) => {
      const c = mk.card().value;
      const p = mk.phone();
      const e = mk.email();
      const parts = [`row ${i}`];
      if (i % 10 === 0) {
        parts.push(`pay with ${c}`, `or call ${p}`);
        values.push(c, p);
      }
      if (i % 2 === 0) {
        parts.push(`write to ${e}`);
        values.push(e);
      }
      return { id: `r${i}`, label: null, source: null, text: parts.join('. ') };
    });
    const r = piiDetector.run(rows, {}) as Awaited<ReturnType<typeof piiDetector.run>>;
    expect(r.issues).toHaveLength(100);
    const s = r.summary as {
      rowsByType: Record<string, number>;
      occurrences: Record<string, number>;
    };
    expect(s.rowsByType).toEqual({ card: 20, iban: 0, phone: 20, email: 100 });
    expect(s.occurrences.email).toBe(100);
    const withCard = r.issues.find((i) => i.row === 'r0')!;
    expect(withCard.detail.type).toBe('card');
    expect(withCard.score).toBeGreaterThan(r.issues.find((i) => i.row === 'r2')!.score);
    expect(withCard.detail.counts).toEqual({ card: 1, phone: 1, email: 1 });
    const json = JSON.stringify(r);
    for (const v of values) expect(json.includes(v)).toBe(false);
  });

  it('real sample: many e-mail addresses, some phones, no cards or IBANs', () => {
    const rows = sampleRows();
    const r = piiDetector.run(rows, {}) as Awaited<ReturnType<typeof piiDetector.run>>;
    const s = r.summary as { rowsByType: Record<string, number> };
    expect(s.rowsByType.email).toBeGreaterThan(rows.length * 0.3);
    expect(s.rowsByType.card).toBe(0);
    expect(s.rowsByType.iban).toBe(0);
    expect(s.rowsByType.phone).toBeGreaterThan(0);
    expect(s.rowsByType.phone).toBeLessThan(rows.length * 0.15);
  });

  it('degenerate input and type selection', () => {
    const r0 = piiDetector.run([], {}) as Awaited<ReturnType<typeof piiDetector.run>>;
    expect(r0.skipped).toBeDefined();
    const rows: ScanRow[] = [
      { id: 'a', label: null, source: null, text: 'x@example.com +14155552671' },
      { id: 'b', label: null, source: null },
      { id: 'c', label: null, source: null, text: 'a@b.cd '.repeat(200_000) },
    ];
    const r = piiDetector.run(rows, { types: ['phone'], maxChars: 1000 }) as Awaited<
      ReturnType<typeof piiDetector.run>
    >;
    expect(r.issues.map((i) => i.row)).toEqual(['a']);
    expect((r.summary as { rowsTruncated: number }).rowsTruncated).toBe(1);
  });
});
