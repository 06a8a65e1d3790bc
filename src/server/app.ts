import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Hono } from 'hono';
import { z } from 'zod';
import { CordonError } from '../core/errors.js';
import type { Workspace } from '../engine/workspace.js';
import {
  honoPath,
  isRawBody,
  RouteList,
  type AnyRoute,
  type AppContext,
  type AppEnv,
  type Reply,
} from './api.js';
import { checkDeclaredLength, readBodyText } from './body.js';
import { JobManager } from './jobs.js';
import { openApiDocument, type OpenApiDocument } from './openapi.js';
import { HttpProblem, toProblem, type Problem } from './problem.js';
import { FailedAuthLimiter } from './rate-limit.js';
import { consoleAssets, serveConsole } from './console.js';
import { auditRoutes } from './routes/audit.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { datasetRoutes } from './routes/datasets.js';
import { governanceRoutes } from './routes/governance.js';
import { identityRoutes } from './routes/identities.js';
import { ingestRoutes } from './routes/ingest.js';
import { jobRoutes } from './routes/jobs.js';
import { metaRoutes } from './routes/meta.js';
import { permissionRoutes } from './routes/permissions.js';
import { scanRoutes } from './routes/scans.js';

export const API_VERSION = '0.1.0';

export interface AppOptions {
  /** Largest upload (ingest, transform) in bytes. Default 1 GiB. */
  uploadLimit?: number;
  /** Largest JSON, YAML or Cedar request body in bytes. Default 1 MiB. */
  jsonLimit?: number;
  /** Largest relabelling file in bytes (it is read whole). Default 64 MiB. */
  labelLimit?: number;
  /** Where uploads are spooled before a job commits them. Default: the OS temp folder. */
  uploadDir?: string;
  /** Failed sign-ins allowed per client address and window before 429. Default 10 a minute. */
  authFailures?: { max?: number; windowMs?: number };
  jobs?: { concurrency?: number; retainMs?: number };
  /**
   * The client's address, for rate limiting. Default: the TCP peer (behind a reverse proxy, pass
   * a function that reads the proxy's header, and only if the proxy sets it).
   */
  clientAddress?: (c: AppContext) => string;
  /** Where errors (and, with logRequests, one line per request) go. Default: stderr. */
  log?: (line: string) => void;
  logRequests?: boolean;
  /**
   * The built web console (index.html and assets/) to serve at `/`, or null for none. Default:
   * the console built with the package (`npm run build`), if it was.
   */
  consoleDir?: string | null;
}

/** What route modules get to work with. */
export interface ServerDeps {
  base: Workspace;
  jobs: JobManager;
  limits: { upload: number; json: number; labels: number };
  uploadDir: string;
  log: (line: string) => void;
  /** The OpenAPI document of every route (built once they are all declared). */
  document: () => OpenApiDocument;
}

export type CordonApp = Hono<AppEnv> & {
  cordon: {
    routes: readonly AnyRoute[];
    jobs: JobManager;
    openapi: OpenApiDocument;
    /** Cancels running jobs and waits for them (the shared workspace stays open). */
    shutdown(): Promise<void>;
  };
};

const MiB = 1024 * 1024;
const BROWSER = /\bMozilla\/\d/;
/** The Cordon CLI says in its User-Agent whether it runs at a terminal (a person at the keys). */
const CLI_AT_TERMINAL = /^cordon-cli\/tty\b/;

/**
 * The REST API over one open workspace. `base` is opened once (by startServer, or a test) and
 * shared: every request authenticates with its bearer token through `base.as()`, which gives a
 * view of the same stores acting as the token's identity, and every operation then runs through
 * the same engine functions as the CLI.
 */
export function createApp(base: Workspace, options: AppOptions = {}): CordonApp {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const problemOf = (e: unknown, instance: string): Problem => {
    const p = toProblem(e, instance);
    if (p.unexpected) log(`cordon serve: ${instance}: ${describeError(e)}`);
    return p.body;
  };
  const jobs = new JobManager({ ...(options.jobs ?? {}), problemOf, log });
  let openapi: OpenApiDocument | undefined = undefined;
  const deps: ServerDeps = {
    base,
    document: () => openapi!,
    jobs,
    limits: {
      upload: options.uploadLimit ?? 1024 * MiB,
      json: options.jsonLimit ?? MiB,
      labels: options.labelLimit ?? 64 * MiB,
    },
    uploadDir: options.uploadDir ?? tmpdir(),
    log,
  };
  const limiter = new FailedAuthLimiter(
    options.authFailures?.max ?? 10,
    options.authFailures?.windowMs ?? 60_000,
  );
  const clientAddress =
    options.clientAddress ??
    ((c: AppContext) => c.env?.incoming?.socket?.remoteAddress ?? 'unknown');

  const list = new RouteList();
  for (const add of [
    metaRoutes,
    datasetRoutes,
    dashboardRoutes,
    ingestRoutes,
    jobRoutes,
    scanRoutes,
    governanceRoutes,
    identityRoutes,
    permissionRoutes,
    auditRoutes,
  ])
    add(list, deps);
  openapi = openApiDocument(list.routes, API_VERSION);

  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const id = randomUUID();
    c.set('requestId', id);
    const started = performance.now();
    await next();
    c.header('X-Request-Id', id);
    c.header('X-Content-Type-Options', 'nosniff');
    // Responses carry tokens, records and audit events: nothing may keep a copy.
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
    if (options.logRequests)
      log(
        `${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - started).toFixed(0)}ms ${c.get('actor') ?? '-'} ${id}`,
      );
  });

  app.onError((e, c) => {
    const p = toProblem(e, `urn:uuid:${c.get('requestId')}`);
    if (p.unexpected)
      log(
        `cordon serve: ${c.req.method} ${c.req.path} urn:uuid:${c.get('requestId')}: ${describeError(e)}`,
      );
    return c.body(JSON.stringify(p.body), p.status as 500, p.headers);
  });

  const consoleDir = options.consoleDir === undefined ? consoleAssets() : options.consoleDir;
  if (consoleDir !== null) serveConsole(app, consoleDir);

  app.notFound((c) => {
    const p = toProblem(
      new HttpProblem('NOT_FOUND', `no endpoint ${c.req.method} ${c.req.path}; see /openapi.json`),
      `urn:uuid:${c.get('requestId')}`,
    );
    return c.body(JSON.stringify(p.body), 404, p.headers);
  });

  const authenticate = async (
    c: AppContext,
  ): Promise<{ ws: Workspace; signInAgain: () => Promise<Workspace> }> => {
    const address = clientAddress(c);
    const wait = limiter.retryAfter(address);
    if (wait > 0)
      throw new HttpProblem(
        'RATE_LIMITED',
        `too many failed sign-ins from this address; try again in ${wait} s`,
        { 'Retry-After': String(wait) },
        { retry: { afterSeconds: wait, advice: 'check the token before trying again' } },
      );
    const challenge = 'Bearer realm="cordon"';
    const header = c.req.header('authorization');
    if (header === undefined)
      throw new HttpProblem(
        'UNAUTHENTICATED',
        'send a Cordon API token as "Authorization: Bearer <token>"',
        { 'WWW-Authenticate': challenge },
      );
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (!m) {
      limiter.fail(address);
      throw new HttpProblem(
        'UNAUTHENTICATED',
        'the Authorization header must be "Bearer <token>"',
        { 'WWW-Authenticate': `${challenge}, error="invalid_request"` },
      );
    }
    const agent = (c.req.header('user-agent') ?? 'unknown').slice(0, 200);
    const actAs = {
      token: m[1]!,
      agent,
      interactive: BROWSER.test(agent) || CLI_AT_TERMINAL.test(agent),
    };
    try {
      const ws = await base.as(actAs);
      c.set('actor', ws.identity.name);
      return { ws, signInAgain: () => base.as(actAs) };
    } catch (e) {
      if (!(e instanceof CordonError) || e.code !== 'UNAUTHENTICATED') throw e;
      limiter.fail(address);
      throw new HttpProblem('UNAUTHENTICATED', e.message, {
        'WWW-Authenticate': `${challenge}, error="invalid_token"`,
      });
    }
  };

  const readJson = async (c: AppContext, schema: z.ZodType): Promise<unknown> => {
    checkDeclaredLength(c.req.header('content-length'), deps.limits.json, 'the request body');
    const text = await readBodyText(c.req.raw.body, deps.limits.json, 'the request body');
    let value: unknown = {};
    if (text.trim() !== '') {
      const type = c.req.header('content-type') ?? '';
      if (!/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type))
        throw new HttpProblem(
          'UNSUPPORTED_MEDIA_TYPE',
          `send the request body as application/json (not "${type || 'no Content-Type'}")`,
        );
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new HttpProblem(
          'BODY_MALFORMED',
          `the request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    return validate(schema, value, 'request body');
  };

  const noWorkspace = new Proxy({} as Workspace, {
    get: () => {
      throw new CordonError('INTERNAL', 'a public route touched the workspace');
    },
  });

  for (const route of list.routes) {
    const mutates = route.mutates ?? route.method !== 'get';
    const success = Number(Object.keys(route.responses)[0] ?? 200);
    app.on(route.method.toUpperCase(), honoPath(route.path), async (c) => {
      let ws: Workspace | undefined;
      let signInAgain = (): Promise<Workspace> => Promise.resolve(noWorkspace);
      let failed = false;
      try {
        if (!route.public) ({ ws, signInAgain } = await authenticate(c));
        const params = validate(route.params, c.req.param(), 'path');
        const query = validate(route.query, queryObject(c, route.query), 'query string');
        const body =
          route.body && !isRawBody(route.body) ? await readJson(c, route.body.json) : undefined;
        const out: Response | Reply = await route.handler({
          c,
          ws: ws ?? noWorkspace,
          params,
          query,
          body,
          requestId: c.get('requestId'),
          signInAgain,
        });
        if (out instanceof Response) return out;
        const status = out.status ?? success;
        const schema = route.responses[status]?.json;
        let json = out.json;
        if (schema) {
          const parsed = schema.safeParse(out.json);
          if (!parsed.success)
            throw new CordonError(
              'INTERNAL',
              `${route.operationId}: response does not match its schema: ${z.prettifyError(parsed.error)}`,
            );
          json = parsed.data;
        }
        return c.json(json, status as 200, out.headers);
      } catch (e) {
        failed = true;
        throw e;
      } finally {
        // The view only signs a checkpoint when closed: over the events this request wrote (a
        // change, or a refusal), so they are covered by the signed log at once.
        if (ws && (mutates || failed))
          await ws
            .close()
            .catch((e: unknown) => log(`cordon serve: checkpoint: ${describeError(e)}`));
      }
    });
  }

  return Object.assign(app, {
    cordon: {
      routes: list.routes,
      jobs,
      openapi: openapi,
      shutdown: () => jobs.shutdown(),
    },
  });
}

function validate(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return where === 'request body' ? undefined : {};
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = r.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }));
  throw new HttpProblem(
    'INPUT_INVALID',
    `invalid ${where}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    {},
    { errors },
  );
}

/** The query string as the schema wants it: repeated parameters as arrays where it takes one. */
function queryObject(c: AppContext, schema: z.ZodType | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!(schema instanceof z.ZodObject)) return out;
  const shape: Record<string, z.ZodType> = schema.shape;
  for (const [key, field] of Object.entries(shape)) {
    const value = isArrayField(field) ? c.req.queries(key) : c.req.query(key);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function isArrayField(schema: z.ZodType): boolean {
  let current: z.ZodType | undefined = schema;
  while (current) {
    if (current instanceof z.ZodArray) return true;
    current = (current._zod.def as { innerType?: z.ZodType }).innerType;
  }
  return false;
}

function describeError(e: unknown): string {
  if (e instanceof CordonError) return `[${e.code}] ${e.stack ?? e.message}`;
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}
