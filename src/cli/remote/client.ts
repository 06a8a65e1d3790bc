import { CordonError, type ErrorCode } from '../../core/errors.js';
import { STATUS_OF, type Problem } from '../../server/problem.js';

/**
 * A small client of Cordon's REST API (`cordon serve`) for the CLI: bearer authentication, JSON
 * in and out, and errors turned back into the CordonError the engine would have thrown, so the
 * CLI prints them and picks exit codes exactly as it does for a local workspace.
 */

export type QueryValue = string | number | boolean | string[] | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Sent as application/json. */
  json?: unknown;
  /** Any other body (text, bytes or a stream), with its Content-Type. */
  body?: string | Uint8Array | ReadableStream<Uint8Array>;
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * Problem codes the HTTP edge adds to the engine's (see server/problem.ts), as the nearest engine
 * code: the CLI only knows the engine's codes. The server's message still says what happened.
 */
const EDGE_CODES: Record<string, ErrorCode> = {
  NOT_FOUND: 'INPUT_NOT_FOUND',
  BODY_MALFORMED: 'INPUT_INVALID',
  PAYLOAD_TOO_LARGE: 'INPUT_INVALID',
  UNSUPPORTED_MEDIA_TYPE: 'INPUT_INVALID',
  // Too many failed sign-ins from this address: a refusal, like the failed sign-ins themselves.
  RATE_LIMITED: 'UNAUTHENTICATED',
};

/** Problem details (RFC 9457) from the server as the CordonError they stand for. */
export function problemError(problem: Pick<Problem, 'code' | 'detail'>): CordonError {
  const code: ErrorCode =
    EDGE_CODES[problem.code] ??
    (problem.code in STATUS_OF ? (problem.code as ErrorCode) : 'INTERNAL');
  return new CordonError(code, problem.detail);
}

/** Percent-encodes one path segment (snapshot references, record ids, names). */
export const seg = (value: string): string => encodeURIComponent(value);

export class RemoteClient {
  /** The server's base URL, ending in "/" so that API paths resolve under it. */
  readonly base: URL;

  constructor(
    server: string,
    private readonly token: string,
    private readonly agent: string,
  ) {
    const url = URL.canParse(server) ? new URL(server) : undefined;
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
      throw new CordonError(
        'USAGE',
        `--server must be an http:// or https:// URL, not "${server}"`,
      );
    // A secret in the URL would be printed in messages and logged by proxies.
    if (url.username || url.password)
      throw new CordonError(
        'USAGE',
        '--server must not hold credentials: the API token comes from $CORDON_TOKEN',
      );
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    url.search = '';
    url.hash = '';
    this.base = url;
  }

  /** Where the server is, as people wrote it (no trailing slash). */
  get where(): string {
    return this.base.href.replace(/\/$/, '');
  }

  /** Sends a request and returns the response; any error status is thrown as a CordonError. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value])
        url.searchParams.append(key, String(v));
    }
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.token}`,
      'User-Agent': this.agent,
      ...(options.headers ?? {}),
    };
    let body: RequestOptions['body'];
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      body = options.body;
      if (options.contentType) headers['Content-Type'] = options.contentType;
    }
    // A streamed body needs duplex: 'half' (Node's fetch; not yet in TypeScript's RequestInit).
    const init: RequestInit & { duplex?: 'half' } = {
      method,
      headers,
      ...(body !== undefined ? { body, duplex: 'half' as const } : {}),
    };
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (e) {
      throw new CordonError(
        'WORKSPACE_NOT_FOUND',
        `cannot reach the Cordon server at ${this.where}: ${networkReason(e)}`,
        { cause: e },
      );
    }
    if (!res.ok) throw await responseError(res, method, url);
    return res;
  }

  /** Sends a request and parses the JSON answer. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, options);
    try {
      return (await res.json()) as T;
    } catch (cause) {
      throw new CordonError(
        'INTERNAL',
        `${method} ${path} on ${this.where}: the answer is not JSON; is this a Cordon server?`,
        { cause },
      );
    }
  }

  get<T>(path: string, query?: Record<string, QueryValue>): Promise<T> {
    return this.json<T>('GET', path, query ? { query } : {});
  }

  post<T>(path: string, json: unknown = {}, query?: Record<string, QueryValue>): Promise<T> {
    return this.json<T>('POST', path, { json, ...(query ? { query } : {}) });
  }
}

async function responseError(res: Response, method: string, url: URL): Promise<CordonError> {
  const text = await res.text().catch(() => '');
  if (/^application\/problem\+json/i.test(res.headers.get('content-type') ?? '')) {
    try {
      const problem = JSON.parse(text) as Partial<Problem>;
      if (typeof problem.code === 'string' && typeof problem.detail === 'string')
        return problemError({ code: problem.code, detail: problem.detail });
    } catch {
      // Not JSON after all: described below like any other answer.
    }
  }
  // Something in between (a proxy, a load balancer) answered, or not a Cordon server at all.
  return new CordonError(
    res.status === 401 || res.status === 403 ? 'UNAUTHENTICATED' : 'INTERNAL',
    `${method} ${url.origin}${url.pathname}: HTTP ${res.status} ${res.statusText}`.trim(),
  );
}

/** What went wrong under fetch: Node puts the socket error (ECONNREFUSED…) in `cause`. */
function networkReason(e: unknown): string {
  const cause = e instanceof Error ? e.cause : undefined;
  if (cause instanceof Error) {
    const errors = (cause as Error & { errors?: unknown[] }).errors;
    // A host with several addresses fails with one error per address.
    if (Array.isArray(errors) && errors[0] instanceof Error) return errors[0].message;
    return cause.message;
  }
  return e instanceof Error ? e.message : String(e);
}
