import { z } from 'zod';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';

export function metaRoutes(api: RouteList, deps: ServerDeps): void {
  api.route({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This API as an OpenAPI 3.1 document',
    tags: ['meta'],
    public: true,
    responses: {
      200: { description: 'The OpenAPI document', content: { 'application/json': {} } },
    },
    handler: ({ c }) => Promise.resolve(c.json(deps.document())),
  });

  api.route({
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    summary: 'Liveness: the server is up and its workspace is open',
    tags: ['meta'],
    public: true,
    responses: { 200: { description: 'Up', json: z.object({ ok: z.literal(true) }) } },
    handler: () => Promise.resolve({ json: { ok: true } }),
  });
}
