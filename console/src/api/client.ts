import { clearToken, getToken } from './session.js';
import type { Problem } from './types.js';

/** An API refusal or failure, carrying the server's problem details (RFC 9457). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly problem: Partial<Problem>,
  ) {
    super(problem.detail ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | boolean | undefined | null | readonly string[]>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is, with its media type (a YAML gate policy, a Cedar policy). */
  raw?: { body: string; contentType: string };
  signal?: AbortSignal;
}

/** Listeners told when the token stops working (so the shell can return to sign-in). */
const signedOut = new Set<() => void>();
export function onSignedOut(listener: () => void): () => void {
  signedOut.add(listener);
  return () => signedOut.delete(listener);
}

export function url(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    if (typeof value === 'object') for (const v of value) params.append(key, v);
    else params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** Encodes one path segment (snapshot refs may hold @ and other characters). */
export const seg = (value: string): string => encodeURIComponent(value);

function headers(json: boolean, token = getToken()): Headers {
  const h = new Headers({ Accept: 'application/json' });
  if (token) h.set('Authorization', `Bearer ${token}`);
  if (json) h.set('Content-Type', 'application/json');
  return h;
}

async function failure(res: Response): Promise<ApiError> {
  let problem: Partial<Problem> = {};
  try {
    problem = (await res.json()) as Partial<Problem>;
  } catch {
    problem = { detail: `${res.status} ${res.statusText}` };
  }
  if (res.status === 401) {
    clearToken();
    for (const f of signedOut) f();
  }
  return new ApiError(res.status, problem.code ?? `HTTP_${res.status}`, problem);
}

/** Calls the API with the signed-in token and returns the parsed JSON answer. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const h = headers(options.body !== undefined);
  if (options.raw) h.set('Content-Type', options.raw.contentType);
  const res = await fetch(url(path, options.query), {
    method: options.method ?? 'GET',
    headers: h,
    ...(options.raw
      ? { body: options.raw.body }
      : options.body !== undefined
        ? { body: JSON.stringify(options.body) }
        : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** Checks a token without keeping it (sign-in). */
export async function whoamiWith<T>(token: string): Promise<T> {
  const res = await fetch('/v1/whoami', { headers: headers(false, token) });
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as Partial<Problem>;
    throw new ApiError(res.status, problem.code ?? `HTTP_${res.status}`, problem);
  }
  return (await res.json()) as T;
}

/** Fetches a non-JSON body (the HTML scan report) as text. */
export async function apiText(path: string, query?: Query): Promise<string> {
  const res = await fetch(url(path, query), { headers: headers(false) });
  if (!res.ok) throw await failure(res);
  return res.text();
}

export interface ServerEvent {
  event: string;
  data: unknown;
}

/**
 * Reads a Server-Sent Events stream with the token in the Authorization header (EventSource
 * cannot send one), calling `onEvent` per event until the stream ends or `signal` aborts.
 */
export async function streamEvents(
  path: string,
  onEvent: (e: ServerEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const h = headers(false);
  h.set('Accept', 'text/event-stream');
  const res = await fetch(path, { headers: h, signal });
  if (!res.ok || !res.body) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length === 0) continue;
      const text = data.join('\n');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: hand over the text
      }
      onEvent({ event, data: parsed });
    }
  }
}
