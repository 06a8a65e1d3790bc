/**
 * Fixtures for the API tests: a real workspace in a temp folder whose creator "root" is admin and
 * owner of every dataset, people and bots with roles, their API tokens (made through the engine,
 * as `cordon token create` would), and small helpers to call the app in process.
 */
import { expect } from 'vitest';
import type { CordonRecord } from '../../src/core/record.js';
import { SCOPES } from '../../src/core/tokens.js';
import { addIdentity, grantRole } from '../../src/engine/governance/identities.js';
import { createToken } from '../../src/engine/governance/tokens.js';
import type { Workspace } from '../../src/engine/workspace.js';
import { createApp, type AppOptions, type CordonApp } from '../../src/server/app.js';
import type { JobView } from '../../src/server/jobs.js';
import type { Problem } from '../../src/server/problem.js';
import { tempWorkspace } from '../helpers/workspace.js';

export interface Fixture {
  root: Workspace;
  dir: string;
  app: CordonApp;
  /** Tokens by identity name. */
  tokens: Record<string, string>;
  logs: string[];
  cleanup: () => Promise<void>;
}

export const DAY = 86_400_000;

/**
 * root: admin (all scopes). alice, bob: stewards of "mail". carol: a human who owns the bots.
 * ingest-bot: a service account (owner carol), contributor on every dataset. trainer-bot: a
 * service account (owner carol), trainer on mail.
 */
export async function fixture(options: AppOptions = {}): Promise<Fixture> {
  const t = await tempWorkspace('root');
  const root = t.ws;
  const tokens: Record<string, string> = {};
  for (const name of ['alice', 'bob', 'carol']) await addIdentity(root, name, { kind: 'human' });
  for (const name of ['ingest-bot', 'trainer-bot'])
    await addIdentity(root, name, { kind: 'service', owners: ['carol'] });
  await grantRole(root, 'alice', 'steward', 'mail');
  await grantRole(root, 'bob', 'steward', 'mail');
  // Contributing to every dataset lets the bot create new ones.
  await grantRole(root, 'ingest-bot', 'contributor', '*');
  await grantRole(root, 'trainer-bot', 'trainer', 'mail');
  tokens['root'] = (await createToken(root, 'root', { scopes: [...SCOPES] })).token;
  for (const name of ['alice', 'bob', 'carol'])
    tokens[name] = (
      await createToken(root, name, {
        scopes: [
          'datasets:read',
          'datasets:write',
          'approvals:write',
          'scans:write',
          'gates:write',
          'reviews:write',
          'quarantine:write',
        ],
      })
    ).token;
  tokens['ingest-bot'] = (
    await createToken(root, 'ingest-bot', {
      scopes: ['datasets:read', 'datasets:write', 'scans:write'],
      expiresInMs: 7 * DAY,
    })
  ).token;
  tokens['trainer-bot'] = (
    await createToken(root, 'trainer-bot', {
      scopes: ['datasets:read', 'snapshots:export'],
      expiresInMs: 7 * DAY,
    })
  ).token;
  const logs: string[] = [];
  const app = createApp(root, { log: (line) => logs.push(line), ...options });
  return {
    root,
    dir: root.dir,
    app,
    tokens,
    logs,
    cleanup: async () => {
      await app.cordon.shutdown();
      await t.cleanup();
    },
  };
}

export interface CallOptions {
  token?: string;
  json?: unknown;
  body?: NonNullable<RequestInit['body']>;
  headers?: Record<string, string>;
  /** Client address as the rate limiter sees it. */
  from?: string;
}

export async function call(
  f: Fixture,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token !== undefined) headers['Authorization'] = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  // A streamed body needs duplex: 'half' (not yet in TypeScript's RequestInit).
  const init = { method, headers, ...(body !== undefined ? { body, duplex: 'half' } : {}) };
  return f.app.request(path, init as RequestInit, {
    incoming: { socket: { remoteAddress: options.from ?? '192.0.2.1' } },
  });
}

/** Calls and expects `status`, returning the parsed JSON body. */
export async function ok<T = Record<string, unknown>>(
  f: Fixture,
  method: string,
  path: string,
  options: CallOptions & { status?: number } = {},
): Promise<T> {
  const res = await call(f, method, path, options);
  const text = await res.text();
  expect(res.status, `${method} ${path}: ${text}`).toBe(options.status ?? 200);
  return JSON.parse(text) as T;
}

/** Calls and expects a problem with `status` (and `code`), returning it. */
export async function problem(
  f: Fixture,
  method: string,
  path: string,
  expected: { status: number; code?: string },
  options: CallOptions = {},
): Promise<Problem & { headers: Headers }> {
  const res = await call(f, method, path, options);
  const text = await res.text();
  expect(res.status, `${method} ${path}: ${text}`).toBe(expected.status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as Problem;
  expect(body).toMatchObject({ status: expected.status, type: expect.any(String) as string });
  if (expected.code) expect(body.code).toBe(expected.code);
  return { ...body, headers: res.headers };
}

/** Polls a job until it ends. */
export async function waitForJob(f: Fixture, token: string, id: string): Promise<JobView> {
  for (let i = 0; i < 600; i++) {
    const job = await ok<JobView>(f, 'GET', `/v1/jobs/${id}`, { token });
    if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not end`);
}

/** JSON Lines of small labelled mail: spam and ham from two feeds. */
export function mailJsonl(n: number, options: { prefix?: string; start?: number } = {}): string {
  const spam = ['win', 'prize', 'cash', 'offer', 'free', 'click', 'bonus', 'deal'];
  const ham = ['meeting', 'agenda', 'lunch', 'project', 'report', 'team', 'notes', 'draft'];
  let out = '';
  for (let k = 0; k < n; k++) {
    const i = k + (options.start ?? 0);
    const words = i % 2 === 0 ? spam : ham;
    const text = Array.from({ length: 8 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(
      ' ',
    );
    out +=
      JSON.stringify({
        id: `${options.prefix ?? 'm'}-${String(i).padStart(7, '0')}`,
        label: i % 2 === 0 ? 'spam' : 'ham',
        source: i % 2 ? 'feed-a' : 'feed-b',
        text: `${text} number ${i}`,
      }) + '\n';
  }
  return out;
}

/** The records of mailJsonl, for committing through the engine directly. */
export function mailRows(
  n: number,
  options: { prefix?: string; start?: number } = {},
): CordonRecord[] {
  return mailJsonl(n, options)
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CordonRecord);
}

/** Parses a Server-Sent Events stream into its events, in order, until it ends. */
export async function readSse(res: Response): Promise<{ event: string; data: unknown }[]> {
  const text = await res.text();
  const events: { event: string; data: unknown }[] = [];
  for (const block of text.split('\n\n')) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trim());
    }
    if (data.length) events.push({ event, data: JSON.parse(data.join('\n')) });
  }
  return events;
}
