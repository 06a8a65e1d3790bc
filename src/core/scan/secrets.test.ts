import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random.js';
import {
  findCordonSecrets,
  looksRandom,
  mergeFindings,
  SECRETLINT_PREFILTER,
  secretsDetector,
  shannonEntropy,
  expectedRandomEntropy,
} from './secrets.js';
import type { Issue, ScanRow } from './types.js';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = ALNUM + '+/';
const B64URL = ALNUM + '-_';

function sampleRows(): ScanRow[] {
  const raw = gunzipSync(readFileSync('data/spamassassin/sample.jsonl.gz')).toString('utf8');
  return raw
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; label: string; source: string; text: string });
}

/** Secret generators. Every value is built at run time from a seeded PRNG: no key in the source. */
function generators(rnd: () => number) {
  const pick = (alphabet: string, n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    return s;
  };
  // Random strings always mix classes (guaranteed, so a draw cannot miss one by chance).
  const mixed = (alphabet: string, n: number): string =>
    pick(UPPER, 1) + pick(DIGITS, 1) + pick(LOWER, 1) + pick(alphabet, n - 3);
  const b64url = (s: string) => Buffer.from(s).toString('base64url');
  const pemBody = (first: string) => {
    const body = first + pick(B64, 64 * 10 - first.length);
    return body.match(/.{1,64}/g)!.join('\n');
  };
  return {
    awsAccessKeyId: () => ({ value: 'AKIA' + pick(UPPER + '234567', 16), rule: 'secretlint/aws:' }),
    awsSecretKey: () => {
      const value = mixed(B64, 40);
      return { value, context: `aws_secret_access_key = ${value}`, rule: 'secretlint/aws:' };
    },
    github: () => ({ value: 'ghp_' + mixed(ALNUM, 36), rule: 'secretlint/github:' }),
    githubFineGrained: () => ({
      value: 'github_pat_' + mixed(ALNUM + '_', 82),
      rule: 'secretlint/github:',
    }),
    slack: () => ({
      value: `xoxb-${pick(DIGITS, 11)}-${pick(DIGITS, 13)}-${mixed(ALNUM, 24)}`,
      rule: 'secretlint/slack:',
    }),
    rsaKey: () => ({
      value: `-----BEGIN RSA PRIVATE KEY-----\n${pemBody('MIIEpAIBAAKCAQEA')}\n-----END RSA PRIVATE KEY-----`,
      rule: 'private-key',
    }),
    opensshKey: () => ({
      value: `-----BEGIN OPENSSH PRIVATE KEY-----\n${pemBody('b3BlbnNzaC1rZXktdjEAAAAA')}\n-----END OPENSSH PRIVATE KEY-----`,
      rule: 'private-key',
    }),
    jwt: () => ({
      value: [
        b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })),
        b64url(JSON.stringify({ sub: pick(DIGITS, 10), name: 'x', iat: 1516239022 })),
        mixed(B64URL, 43),
      ].join('.'),
      rule: 'cordon/jwt',
    }),
    stripe: () => ({ value: 'sk_live_' + mixed(ALNUM, 24), rule: 'cordon/prefixed-key' }),
    gcpJson: () => {
      const key = `-----BEGIN PRIVATE KEY-----\n${pemBody('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')}\n-----END PRIVATE KEY-----\n`;
      const json = JSON.stringify({
        type: 'service_account',
        project_id: 'demo-project',
        private_key_id: pick('0123456789abcdef', 40),
        private_key: key,
        client_email: 'svc@demo-project.iam.gserviceaccount.com',
      });
      // The private_key as it appears inside the JSON text (escaped newlines).
      const inJson = JSON.stringify(key).slice(1, -1);
      return { value: inJson, context: json, rule: 'private-key' };
    },
    cordonToken: () => ({
      value: `cordon_${rnd() < 0.5 ? 'nhi' : 'pat'}_${rnd() < 0.5 ? 'live' : 'test'}_${pick(ALNUM, 12)}_${mixed(ALNUM, 43)}${pick(ALNUM, 6)}`,
      rule: 'cordon/api-token',
    }),
  };
}

type Gen = () => { value: string; context?: string; rule: string };

/** Inserts `insert` into text at a whitespace boundary chosen by rnd. */
function plant(text: string, insert: string, rnd: () => number): { text: string; at: number } {
  const spaces: number[] = [];
  for (let i = 0; i < text.length; i++) if (text[i] === ' ' || text[i] === '\n') spaces.push(i);
  const pos = spaces.length > 0 ? spaces[Math.floor(rnd() * spaces.length)]! : text.length;
  const pre = text.slice(0, pos) + '\n';
  return { text: pre + insert + '\n' + text.slice(pos), at: pre.length };
}

function findingsOf(issue: Issue): { rule: string; masked: string; range: [number, number] }[] {
  return issue.detail.findings as { rule: string; masked: string; range: [number, number] }[];
}

describe('leak/secrets on planted secrets in real mail', () => {
  it('finds every standard format (recall 1.0) and never leaks a raw value', async () => {
    const rnd = mulberry32(20240601);
    const gens = generators(rnd);
    const base = sampleRows().slice(0, 600);
    const rows: ScanRow[] = [];
    const planted = new Map<
      string,
      { value: string; start: number; end: number; rule: string; kind: string }
    >();
    const kinds = Object.entries(gens) as [string, Gen][];
    base.forEach((r, i) => {
      if (i % 3 !== 0) {
        rows.push({ id: r.id, label: r.label, source: r.source, text: r.text ?? '' });
        return;
      }
      const [kind, gen] = kinds[(i / 3) % kinds.length]!;
      const g = gen();
      const insert = g.context ?? g.value;
      const p = plant(r.text ?? '', insert, rnd);
      const start = p.at + insert.indexOf(g.value);
      rows.push({ id: r.id, label: r.label, source: r.source, text: p.text });
      planted.set(r.id, { value: g.value, start, end: start + g.value.length, rule: g.rule, kind });
    });
    expect(planted.size).toBe(200);
    const result = await secretsDetector.run(rows, {});
    const byRow = new Map(result.issues.map((i) => [i.row, i]));
    const missed: string[] = [];
    for (const [id, p] of planted) {
      const issue = byRow.get(id);
      const hit = issue
        ? findingsOf(issue).some(
            (f) =>
              f.range[0] < p.end &&
              p.start < f.range[1] &&
              (f.rule.startsWith(p.rule) ||
                (p.rule === 'private-key' && /private-?key/.test(f.rule))),
          )
        : false;
      if (!hit) missed.push(`${p.kind} in ${id}: ${JSON.stringify(issue?.detail.findings)}`);
    }
    expect(missed).toEqual([]);
    for (const issue of result.issues) {
      expect(issue.kind).toBe('secret');
      expect(issue.score).toBeGreaterThan(0);
      expect(issue.score).toBeLessThanOrEqual(1);
    }
    // The raw value (or any 12-character window of it) appears nowhere in the result.
    const json = JSON.stringify(result);
    for (const p of planted.values()) {
      expect(json.includes(p.value)).toBe(false);
      for (let i = 4; i + 12 <= p.value.length - 2; i += 6) {
        const w = p.value.slice(i, i + 12);
        if (/[A-Za-z0-9]{12}/.test(w) && !/^[a-z]+$/.test(w)) expect(json.includes(w)).toBe(false);
      }
    }
  });

  it('flags few rows in the clean 3,023-message sample, and only with the generic rule', async () => {
    const rows = sampleRows();
    const result = await secretsDetector.run(rows, {});
    const rules = new Set(result.issues.flatMap((i) => findingsOf(i).map((f) => f.rule)));
    // Spam "hash-buster" strings are random and get the low-confidence generic rule; no named
    // rule (keys, tokens, JWTs, connection strings) may fire on clean mail.
    expect([...rules].filter((r) => r !== 'cordon/high-entropy')).toEqual([]);
    expect(result.issues.length).toBeLessThanOrEqual(Math.ceil(rows.length * 0.005));
    for (const i of result.issues) expect(i.score).toBeLessThanOrEqual(0.5);
    expect(result.summary.rowsSentToSecretlint as number).toBeLessThan(rows.length * 0.05);
  });

  it('a secretlint-disable comment in the row does not hide a key', async () => {
    const rnd = mulberry32(3);
    const g = generators(rnd).github();
    const rows: ScanRow[] = [
      { id: 'a', label: null, source: null, text: `// secretlint-disable\ntoken: ${g.value}\n` },
    ];
    const r = await secretsDetector.run(rows, {});
    expect(r.issues).toHaveLength(1);
    expect(findingsOf(r.issues[0]!).some((f) => f.rule.startsWith('secretlint/github'))).toBe(true);
  });

  it('secretlint alone finds GCP service-account JSON rows', async () => {
    const rnd = mulberry32(5);
    const g = generators(rnd).gcpJson();
    const r = await secretsDetector.run([{ id: 'j', label: null, source: null, text: g.context }], {
      entropy: 'off',
    });
    const rules = findingsOf(r.issues[0]!).map((f) => f.rule);
    expect(rules.some((x) => x.startsWith('secretlint/gcp:PrivateKeyJSON'))).toBe(true);
  });

  it('the prefilter passes every secretlint format', () => {
    const rnd = mulberry32(9);
    const gens = generators(rnd);
    const formats: Gen[] = [
      gens.awsAccessKeyId,
      gens.awsSecretKey,
      gens.github,
      gens.githubFineGrained,
      gens.slack,
      gens.rsaKey,
      gens.gcpJson,
    ];
    for (const g of formats) {
      const x = g();
      expect(SECRETLINT_PREFILTER.test(x.context ?? x.value)).toBe(true);
    }
    expect(SECRETLINT_PREFILTER.test('postgres://admin:s3cr3tPass@db.internal:5432/app')).toBe(
      true,
    );
    expect(SECRETLINT_PREFILTER.test('Hello, this is a perfectly ordinary sentence.')).toBe(false);
  });
});

describe('generic high-entropy rule', () => {
  it('finds random tokens (recall ≥ 0.95) and rejects words, identifiers, hashes and numbers', () => {
    const rnd = mulberry32(42);
    const pick = (alphabet: string, n: number) => {
      let s = '';
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      return s;
    };
    let found = 0;
    const N = 400;
    for (let t = 0; t < N; t++) {
      const len = 20 + Math.floor(rnd() * 45);
      const token = pick(ALNUM, len);
      const text = `Please use ${token} for the staging deploy.`;
      if (findCordonSecrets(text, 'any').some((f) => f.rule === 'cordon/high-entropy')) found++;
    }
    expect(found / N).toBeGreaterThanOrEqual(0.95);

    const words = [
      'account',
      'server',
      'config',
      'element',
      'handler',
      'request',
      'value',
      'table',
      'string',
      'builder',
      'factory',
      'manager',
      'default',
      'update',
      'version',
    ];
    const negatives: string[] = [
      'internationalization and localization',
      'getElementsByTagName is a DOM method',
      'MozillaFirefox2002Release notes',
      'see d41d8cd98f00b204e9800998ecf8427e for the checksum',
      'commit 3f786850e387550fdab836ed7e6dc881de23001b landed',
      'id 123e4567-e89b-12d3-a456-426614174000 is a UUID',
      'order 12345678901234567890 shipped',
      'http://www.example.com/servlet/ArticleNews/PEstory/TGAM/20020923/UFATTN/Headlines',
      'mail me at someLongUserName2002xyz@example.com',
      'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1',
      'abcdefghijklmnopqrstuvwxyz0123456789',
    ];
    for (let t = 0; t < 300; t++) {
      let id = '';
      while (id.length < 22) {
        const w = words[Math.floor(rnd() * words.length)]!;
        id += w[0]!.toUpperCase() + w.slice(1);
      }
      negatives.push(`call ${id}${Math.floor(rnd() * 100)} now`);
    }
    const fps = negatives.filter((t) => findCordonSecrets(t, 'any').length > 0);
    expect(fps).toEqual([]);
  });

  it('with a keyword, hex and shorter values count; without it they do not', () => {
    const hex = 'a3f9c2e81b7d4c6f9e2a1b3c5d7e9f01';
    expect(findCordonSecrets(`checksum ${hex}`, 'any')).toEqual([]);
    const f = findCordonSecrets(`api_key="${hex}"`, 'any');
    expect(f.map((x) => x.rule)).toEqual(['cordon/keyword-entropy']);
    expect(findCordonSecrets(`api_key="${hex}"`, 'off')).toEqual([]);
    expect(findCordonSecrets('password: correcthorsebatterystaple', 'any')).toEqual([]);
  });

  it('PGP signatures, MIME base64 bodies and encoded words are not secrets; PGP private keys are', () => {
    const rnd = mulberry32(8);
    const pick = (n: number) => {
      let s = '';
      for (let i = 0; i < n; i++) s += B64[Math.floor(rnd() * 64)];
      return s;
    };
    const sig = `-----BEGIN PGP SIGNATURE-----\nVersion: GnuPG v1.0.6\n\n${pick(64)}\n${pick(20)}=\n=${pick(4)}\n-----END PGP SIGNATURE-----`;
    expect(findCordonSecrets(`text\n${sig}\n`, 'any')).toEqual([]);
    const mime = `Content-Transfer-Encoding: base64\n\n${pick(76)}\n${pick(76)}\n${pick(76)}\n`;
    expect(findCordonSecrets(mime, 'any')).toEqual([]);
    expect(findCordonSecrets(`Subject: =?utf-8?B?${pick(40)}?=`, 'any')).toEqual([]);
    const priv = `-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n${pick(64)}\n${pick(64)}\n-----END PGP PRIVATE KEY BLOCK-----`;
    expect(findCordonSecrets(priv, 'any').map((f) => f.rule)).toEqual(['cordon/private-key']);
    // A how-to mentioning the header without a key body is not a key.
    expect(
      findCordonSecrets('paste it after -----BEGIN RSA PRIVATE KEY----- and ...', 'any'),
    ).toEqual([]);
  });

  it('JWT needs a JSON header with alg', () => {
    const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const good = `${b({ alg: 'RS256' })}.${b({ sub: '1234567890' })}.c2lnbmF0dXJlc2lnbmF0dXJl`;
    const bad = `${b({ foo: 'bar', x: 1 })}.${b({ sub: '1234567890' })}.c2lnbmF0dXJlc2lnbmF0dXJl`;
    expect(findCordonSecrets(`Bearer ${good}`, 'off').map((f) => f.rule)).toEqual(['cordon/jwt']);
    expect(findCordonSecrets(`x ${bad}`, 'off')).toEqual([]);
  });

  it('entropy helpers', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBeCloseTo(2, 12);
    // E[H] of a random string is below log2(min(L, A)) and increases with L.
    expect(expectedRandomEntropy(20, 62)).toBeLessThan(Math.log2(20));
    expect(expectedRandomEntropy(40, 62)).toBeGreaterThan(expectedRandomEntropy(20, 62));
    expect(looksRandom('x', 0, 1, false)).toBe(false);
  });

  it('merging keeps one finding per overlapping family and drops generic overlaps', () => {
    const m = mergeFindings([
      { rule: 'cordon/high-entropy', start: 10, end: 40, score: 0.5 },
      { rule: 'secretlint/privatekey:EC2', start: 0, end: 100, score: 1 },
      { rule: 'cordon/private-key', start: 0, end: 101, score: 1 },
      { rule: 'cordon/jwt', start: 200, end: 260, score: 0.9 },
    ]);
    expect(m.map((f) => f.rule)).toEqual(['secretlint/privatekey:EC2', 'cordon/jwt']);
  });
});

describe('degenerate input', () => {
  it('no text → skipped; empty list → skipped; huge rows are capped', async () => {
    expect((await secretsDetector.run([], {})).skipped).toBeDefined();
    const noText = await secretsDetector.run([{ id: '1', label: 'a', source: null }], {});
    expect(noText.skipped).toMatch(/no row has text/);
    const rnd = mulberry32(77);
    const token = generators(rnd).github().value;
    const huge = 'lorem ipsum '.repeat(90_000); // ≈ 1 MB
    const rows: ScanRow[] = [
      { id: 'early', label: null, source: null, text: `${token} ${huge}` },
      { id: 'late', label: null, source: null, text: `${huge} ${token}` },
    ];
    const r = await secretsDetector.run(rows, {});
    expect(r.issues.map((i) => i.row)).toEqual(['early']);
    expect(r.summary.rowsTruncated).toBe(2);
  });

  it('allow-list drops documented example values', async () => {
    const rnd = mulberry32(78);
    const token = generators(rnd).stripe().value;
    const rows: ScanRow[] = [{ id: '1', label: null, source: null, text: `key ${token}` }];
    expect((await secretsDetector.run(rows, {})).issues).toHaveLength(1);
    expect((await secretsDetector.run(rows, { allow: [token] })).issues).toHaveLength(0);
  });
});
