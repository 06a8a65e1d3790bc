import type { Context } from 'hono';
import type { z } from 'zod';
import type { HttpBindings } from '@hono/node-server';
import type { Workspace } from '../engine/workspace.js';

/**
 * Every endpoint is declared once, as a RouteSpec: its path, its request and response schemas
 * (zod) and its handler. The same list is mounted on Hono (app.ts) and turned into the OpenAPI
 * document (openapi.ts), so the document cannot describe an endpoint the server does not serve,
 * nor miss one that it does.
 */

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface AppEnv {
  Bindings: Partial<HttpBindings>;
  Variables: { requestId: string; actor?: string };
}

export type AppContext = Context<AppEnv>;

/** A body that is not JSON (an upload, YAML, Cedar text): the handler reads it as a stream. */
export interface RawBodySpec {
  raw: { contentTypes: string[]; description: string; required?: boolean };
}

export interface JsonBodySpec<B extends z.ZodType> {
  json: B;
  description?: string;
}

export interface ResponseSpec {
  description: string;
  /** A JSON body, described and enforced by this schema (responses are sent as parsed by it). */
  json?: z.ZodType;
  /** Any other body: media type → JSON Schema of it (if any). */
  content?: Record<string, { schema?: Record<string, unknown> }>;
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

/** What a handler returns for a JSON response. */
export interface Reply {
  status?: number;
  json: unknown;
  headers?: Record<string, string>;
}

export interface HandlerContext<P, Q, B> {
  c: AppContext;
  /** The workspace acting as the authenticated caller (public routes must not touch it). */
  ws: Workspace;
  params: P;
  query: Q;
  body: B;
  requestId: string;
  /**
   * Signs in again with the request's credential, for work that starts later (a queued job):
   * a token revoked or expired in the meantime is refused then, as on any new request.
   */
  signInAgain: () => Promise<Workspace>;
}

type EmptyObject = z.ZodObject<Record<string, never>>;

export interface RouteSpec<
  P extends z.ZodType = EmptyObject,
  Q extends z.ZodType = EmptyObject,
  B extends z.ZodType = z.ZodUndefined,
> {
  method: Method;
  /** OpenAPI form: /v1/datasets/{name}. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Served without authentication (the OpenAPI document, the health check). */
  public?: boolean;
  /**
   * Whether the request may append audit events, so the per-request view must sign a checkpoint
   * when it is done. Defaults to true for every method but GET.
   */
  mutates?: boolean;
  params?: P;
  query?: Q;
  body?: JsonBodySpec<B> | RawBodySpec;
  responses: Record<number, ResponseSpec>;
  handler: (
    ctx: HandlerContext<z.output<P>, z.output<Q>, z.output<B>>,
  ) => Promise<Response | Reply>;
}

/** A route as the registry keeps it: its types only matter where it is written. */
export interface AnyRoute extends Omit<RouteSpec, 'params' | 'query' | 'body' | 'handler'> {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: JsonBodySpec<z.ZodType> | RawBodySpec;
  handler: (ctx: HandlerContext<unknown, unknown, unknown>) => Promise<Response | Reply>;
}

/** Collects route declarations; `route()` keeps each one's types while it is written. */
export class RouteList {
  readonly routes: AnyRoute[] = [];

  route<
    P extends z.ZodType = EmptyObject,
    Q extends z.ZodType = EmptyObject,
    B extends z.ZodType = z.ZodUndefined,
  >(spec: RouteSpec<P, Q, B>): void {
    this.routes.push(spec as unknown as AnyRoute);
  }
}

/** /v1/datasets/{name} → /v1/datasets/:name */
export function honoPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

export function isRawBody(body: AnyRoute['body']): body is RawBodySpec {
  return body !== undefined && 'raw' in body;
}
