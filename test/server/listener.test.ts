import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServe, registerServe } from '../../src/cli/commands/serve.js';
import type { Io } from '../../src/cli/io.js';
import { CordonError } from '../../src/core/errors.js';
import { createToken } from '../../src/engine/governance/tokens.js';
import { initWorkspace } from '../../src/engine/workspace.js';
import type { JobView } from '../../src/server/jobs.js';
import type { RunningServer } from '../../src/server/server.js';
import { tempDir } from '../helpers/workspace.js';
import { mailJsonl } from './helpers.js';

const ROWS = 100_000;

let dir: ReturnType<typeof tempDir>;
let token: string;
let server: RunningServer;
let stop: () => void;
let serving: Promise<void>;
let stdout = '';
let stderr = '';

beforeAll(async () => {
  dir = tempDir();
  const ws = await initWorkspace(join(dir.dir, '.cordon'), { identity: 'root' });
  token = (await createToken(ws, 'root', { scopes: ['datasets:read', 'datasets:write'] })).token;
  await ws.close();
  const io: Io = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {},
    cwd: dir.dir,
    interactive: false,
  };
  const started = new Promise<RunningServer>((resolve) => {
    serving = runServe(
      io,
      { host: '127.0.0.1', port: 0, uploadLimit: 256 * 1024 * 1024, logRequests: true },
      new Promise<void>((resolve) => (stop = resolve)),
      resolve,
    );
  });
  server = await started;
});

afterAll(async () => {
  stop?.();
  await serving;
  dir.cleanup();
});

/** A large JSON Lines body produced chunk by chunk as the connection takes it. */
function lazyBody(rows: number, perChunk = 2_000): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= rows) return controller.close();
      const n = Math.min(perChunk, rows - sent);
      controller.enqueue(new TextEncoder().encode(mailJsonl(n, { start: sent })));
      sent += n;
    },
  });
}

describe('cordon serve on a real socket', () => {
  it('prints its URL and serves the OpenAPI document', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout).toContain(server.url);
    const res = await fetch(`${server.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('takes a large upload as a stream, commits it as a job and reports it over SSE', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const res = await fetch(`${server.url}/v1/datasets/big/ingest?filename=big.jsonl`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/x-ndjson' },
      body: lazyBody(ROWS),
      duplex: 'half',
    });
    const started = (await res.json()) as JobView;
    expect(res.status, JSON.stringify(started)).toBe(202);

    // Follow the job's events as they arrive.
    const events = await fetch(`${server.url}/v1/jobs/${started.id}/events`, { headers: auth });
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const seen: { event: string; data: JobView & { records?: number } }[] = [];
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of events.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) seen.push({ event, data: JSON.parse(data) as JobView });
      }
    }
    const final = seen.at(-1)!;
    expect(final).toMatchObject({ event: 'state', data: { state: 'succeeded' } });
    const progress = seen.filter((e) => e.event === 'progress').map((e) => e.data.records ?? 0);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(ROWS);

    const verified = await fetch(`${server.url}/v1/snapshots/big@1/verify`, {
      method: 'POST',
      headers: auth,
    });
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({ ok: true, records: ROWS });
    expect(stderr).toMatch(/POST \/v1\/datasets\/big\/ingest 202 \d+ms root/);
  });

  it('stops cleanly when asked, closing the workspace', async () => {
    stop();
    await serving;
    expect(stderr).toContain('cordon serve: stopping');
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});

describe('cordon serve options', () => {
  it('refuses a bad port or size before starting', async () => {
    const io: Io = {
      stdout: () => undefined,
      stderr: () => undefined,
      env: {},
      cwd: '/',
      interactive: false,
    };
    for (const args of [
      ['serve', '--port', 'eighty'],
      ['serve', '--upload-limit', 'lots'],
    ]) {
      const program = new Command('cordon').exitOverride().option('-w, --workspace <dir>');
      registerServe(program, io);
      const error = await program.parseAsync(args, { from: 'user' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CordonError);
      expect((error as CordonError).code).toBe('USAGE');
    }
  });
});
