import { fileURLToPath } from 'node:url';
import { CordonError } from '../core/errors.js';

/**
 * Where objects live, as written in `CORDON_OBJECT_URL`:
 *
 * - `file:///abs/path`: a local folder (FsBlobStore);
 * - `s3://[key:secret@]bucket[/prefix][?endpoint=…&region=…&forcePathStyle=…&partSize=…&staleAfter=…]`:
 *   an S3-compatible bucket (S3BlobStore).
 *
 * The URL's `key:secret` is meant for throw-away test servers; real deployments leave it out and
 * set `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`), or nothing at all,
 * in which case the AWS SDK's default chain (profiles, SSO, instance and task roles) is used.
 */
export type ObjectStoreConfig = FileObjectConfig | S3ObjectConfig;

export interface FileObjectConfig {
  kind: 'file';
  root: string;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3ObjectConfig {
  kind: 's3';
  bucket: string;
  /** Key prefix without leading or trailing slash; '' means the bucket's root. */
  prefix: string;
  region: string;
  /** Origin of an S3-compatible server (`http://127.0.0.1:4569`); absent for AWS itself. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Absent: let the SDK's default credential chain decide. */
  credentials?: S3Credentials;
  /** Bytes per multipart-upload part. */
  partSize?: number;
  /** How long a staging area must sit untouched before cleanStaging removes it. */
  staleAfterMs?: number;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;

const QUERY_KEYS = ['endpoint', 'region', 'forcePathStyle', 'partSize', 'staleAfter'] as const;
type QueryKey = (typeof QUERY_KEYS)[number];

/** S3's rules for bucket names that work with both path-style and virtual-hosted requests. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SIZE = /^(\d+)(KiB|MiB|GiB)?$/;
const DURATION = /^(\d+)(s|m|h|d)?$/;

/**
 * Parses an object-store URL into a typed configuration. Every problem is a
 * CordonError('CONFIG_INVALID') whose message names the part at fault; the secret of a URL
 * with credentials is never repeated in a message.
 *
 * @param source what to call the value in messages (the variable it came from)
 */
export function parseObjectUrl(
  text: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  source = 'CORDON_OBJECT_URL',
): ObjectStoreConfig {
  const fail = (problem: string): never => {
    throw new CordonError('CONFIG_INVALID', `${source}: ${problem}`);
  };
  const trimmed = text.trim();
  if (trimmed === '') fail('is empty; expected s3://bucket/prefix or file:///path');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    // Say which scheme was meant if one is recognisable, without echoing the value.
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1];
    return fail(
      scheme === undefined
        ? 'is not a URL; expected s3://bucket/prefix or file:///path'
        : `is not a valid ${scheme}: URL`,
    );
  }
  if (url.protocol === 'file:') return parseFileUrl(url, fail);
  if (url.protocol === 's3:') {
    // URL parsing quietly resolves "." and ".." segments; a prefix should say what it means.
    const rawPath = trimmed.replace(/^s3:\/\/[^/?#]*/i, '').split(/[?#]/)[0] ?? '';
    const dots = /(?:^|\/)(\.{1,2})(?:\/|$)/.exec(rawPath);
    if (dots) fail(`prefix: segment "${dots[1]}" is not allowed`);
    return parseS3Url(url, env, fail);
  }
  return fail(`scheme "${url.protocol}" is not supported; use s3://bucket/prefix or file:///path`);
}

function parseFileUrl(url: URL, fail: (problem: string) => never): FileObjectConfig {
  if (url.username !== '' || url.password !== '') fail('a file: URL takes no user or password');
  if (url.host !== '' && url.host !== 'localhost') {
    fail(`file: URL names host "${url.host}"; only local paths (file:///path) are supported`);
  }
  if (url.search !== '' || url.hash !== '') fail('a file: URL takes no query or fragment');
  let root: string;
  try {
    root = fileURLToPath(url);
  } catch (cause) {
    return fail(`path: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  if (root === '/' || root === '') fail('path: the file system root cannot hold objects');
  return { kind: 'file', root: root.length > 1 ? root.replace(/\/+$/, '') : root };
}

function parseS3Url(
  url: URL,
  env: Readonly<Record<string, string | undefined>>,
  fail: (problem: string) => never,
): S3ObjectConfig {
  if (url.host === '') fail('bucket: missing (expected s3://bucket/prefix)');
  if (url.port !== '') {
    fail(`bucket: "${url.host}" carries a port; give the server as ?endpoint=http://host:port`);
  }
  const bucket = url.hostname;
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    fail(
      `bucket: "${bucket}" is not a valid bucket name ` +
        '(3 to 63 lower-case letters, digits, dots and hyphens, starting and ending alphanumeric)',
    );
  }
  if (url.hash !== '') fail('an s3: URL takes no fragment');

  const prefix = parsePrefix(url.pathname, fail);
  const query = readQuery(url, fail);

  let endpoint: string | undefined;
  if (query.endpoint !== undefined) endpoint = parseEndpoint(query.endpoint, fail);

  const region = query.region ?? (env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || 'us-east-1');
  if (!REGION.test(region)) fail(`region: "${region}" is not a region name`);

  let forcePathStyle = endpoint !== undefined;
  if (query.forcePathStyle !== undefined) {
    const v = query.forcePathStyle.toLowerCase();
    if (v === 'true' || v === '1') forcePathStyle = true;
    else if (v === 'false' || v === '0') forcePathStyle = false;
    else fail(`forcePathStyle: "${query.forcePathStyle}" is not true or false`);
  }

  const config: S3ObjectConfig = { kind: 's3', bucket, prefix, region, forcePathStyle };
  if (endpoint !== undefined) config.endpoint = endpoint;
  const credentials = readCredentials(url, env, fail);
  if (credentials !== undefined) config.credentials = credentials;
  if (query.partSize !== undefined) config.partSize = parsePartSize(query.partSize, fail);
  if (query.staleAfter !== undefined) config.staleAfterMs = parseDuration(query.staleAfter, fail);
  return config;
}

function parsePrefix(pathname: string, fail: (problem: string) => never): string {
  const inner = pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  if (inner === '') return '';
  const segments = inner.split('/').map((raw) => {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return fail(`prefix: "${raw}" is not valid percent-encoding`);
    }
    if (s === '') fail('prefix: contains an empty segment ("//")');
    if (s === '.' || s === '..') fail(`prefix: segment "${s}" is not allowed`);
    // Control characters and backslashes make keys that tools and consoles mangle.
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f\\]/.test(s)) {
      fail(`prefix: segment "${encodeURIComponent(s)}" contains a control character or "\\"`);
    }
    return s;
  });
  const prefix = segments.join('/');
  // Object keys may be 1024 bytes; leave room for "/staging/<id>/<n>" and "/sha256/xx/<62 hex>".
  if (Buffer.byteLength(prefix, 'utf8') > 900) fail('prefix: longer than 900 bytes');
  return prefix;
}

function readQuery(url: URL, fail: (problem: string) => never): Partial<Record<QueryKey, string>> {
  const out: Partial<Record<QueryKey, string>> = {};
  for (const [name, value] of url.searchParams) {
    const key = QUERY_KEYS.find((k) => k === name);
    if (key === undefined) {
      fail(`query parameter "${name}" is not known (known: ${QUERY_KEYS.join(', ')})`);
    } else {
      if (out[key] !== undefined) fail(`query parameter "${name}" is given more than once`);
      if (value === '') fail(`query parameter "${name}" is empty`);
      out[key] = value;
    }
  }
  return out;
}

function parseEndpoint(value: string, fail: (problem: string) => never): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return fail(`endpoint: "${value}" is not a URL (expected http://host:port or https://host)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    fail(`endpoint: "${value}" must be an http:// or https:// URL`);
  }
  if (u.username !== '' || u.password !== '') {
    fail('endpoint: credentials belong in the s3:// URL or the AWS_* variables, not the endpoint');
  }
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '') {
    fail(`endpoint: "${u.origin}" must not carry a path, query or fragment`);
  }
  return u.origin;
}

function readCredentials(
  url: URL,
  env: Readonly<Record<string, string | undefined>>,
  fail: (problem: string) => never,
): S3Credentials | undefined {
  const decode = (s: string, what: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return fail(`${what} in the URL is not valid percent-encoding`);
    }
  };
  if (url.username !== '' || url.password !== '') {
    if (url.username === '') fail('credentials: the URL has a secret but no access key id');
    if (url.password === '') fail('credentials: the URL has an access key id but no secret');
    return {
      accessKeyId: decode(url.username, 'access key id'),
      secretAccessKey: decode(url.password, 'secret'),
    };
  }
  const id = env['AWS_ACCESS_KEY_ID'];
  const secret = env['AWS_SECRET_ACCESS_KEY'];
  const token = env['AWS_SESSION_TOKEN'];
  if (!id && !secret) return undefined; // the SDK's default chain (profiles, roles) decides
  if (!id) fail('credentials: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not');
  if (!secret) fail('credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not');
  const creds: S3Credentials = { accessKeyId: id, secretAccessKey: secret };
  if (token) creds.sessionToken = token;
  return creds;
}

function parsePartSize(value: string, fail: (problem: string) => never): number {
  const m = SIZE.exec(value);
  if (!m) return fail(`partSize: "${value}" is not a size (bytes, or a number with KiB, MiB, GiB)`);
  const unit = m[2] === 'KiB' ? 1024 : m[2] === 'MiB' ? 1024 ** 2 : m[2] === 'GiB' ? 1024 ** 3 : 1;
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes < MIN_PART_SIZE || bytes > MAX_PART_SIZE) {
    fail(`partSize: "${value}" is outside S3's limits (5 MiB to 5 GiB)`);
  }
  return bytes;
}

function parseDuration(value: string, fail: (problem: string) => never): number {
  const m = DURATION.exec(value);
  if (!m)
    return fail(`staleAfter: "${value}" is not a duration (seconds, or a number with s, m, h, d)`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? 's'] ?? 1;
  const ms = Number(m[1]) * unit * 1000;
  if (!Number.isSafeInteger(ms)) fail(`staleAfter: "${value}" is too large`);
  return ms;
}

/** The configuration as a URL safe to print: the secret is never included. */
export function describeObjectConfig(config: ObjectStoreConfig): string {
  if (config.kind === 'file') return `file://${config.root}`;
  const path = config.prefix === '' ? '' : `/${config.prefix}`;
  const where = config.endpoint === undefined ? '' : ` at ${config.endpoint}`;
  return `s3://${config.bucket}${path}${where}`;
}
