import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../../src/server/openapi.js';
import { commit } from '../helpers/workspace.js';
import { call, fixture, mailRows, ok, type Fixture } from './helpers.js';

// ajv and ajv-formats are CommonJS; under NodeNext the default import is module.exports.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SCHEMA_URN = 'urn:cordon:openapi:schemas:';

let f: Fixture;
let doc: OpenApiDocument;
let ajv: InstanceType<typeof Ajv2020>;

/** Every JSON Schema in the document, with where it is. */
function* schemasOf(value: unknown, where: string): Generator<[string, Json]> {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value as Json)) {
    if (key === 'schema' && typeof child === 'object' && child !== null)
      yield [`${where}/schema`, child as Json];
    else yield* schemasOf(child, `${where}/${key}`);
  }
}

/** A copy whose component references name the components as Ajv knows them. */
function forAjv(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) =>
    key === '$ref' && typeof value === 'string'
      ? value.replace('#/components/schemas/', SCHEMA_URN)
      : value,
  ) as unknown;
}

beforeAll(async () => {
  f = await fixture();
  await commit(f.root, 'mail', mailRows(12));
  const res = await call(f, 'GET', '/openapi.json');
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenApiDocument;
  ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(doc.components.schemas))
    ajv.addSchema(forAjv(schema) as object, SCHEMA_URN + name);
});
afterAll(async () => f.cleanup());

describe('the OpenAPI document', () => {
  it('is served without authentication and has the shape of OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({
      title: expect.any(String) as string,
      version: expect.any(String) as string,
    });
    expect(doc.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
    });
    expect(doc.security).toEqual([{ bearer: [] }]);
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path).toMatch(/^\//);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries(item)) {
        expect(METHODS, `${path}`).toContain(method);
        const where = `${method.toUpperCase()} ${path}`;
        expect(typeof op['operationId'], where).toBe('string');
        expect(ids.has(op['operationId'] as string), `duplicate operationId at ${where}`).toBe(
          false,
        );
        ids.add(op['operationId'] as string);
        const params = (op['parameters'] ?? []) as Json[];
        for (const p of params) {
          expect(['path', 'query', 'header', 'cookie'], where).toContain(p['in']);
          expect(typeof p['name'], where).toBe('string');
          expect(p['schema'] ?? p['content'], where).toBeDefined();
          if (p['in'] === 'path') expect(p['required'], `${where} ${String(p['name'])}`).toBe(true);
        }
        expect(
          params
            .filter((p) => p['in'] === 'path')
            .map((p) => p['name'])
            .sort(),
          `path parameters of ${where}`,
        ).toEqual(templated);
        const responses = op['responses'] as Record<string, Json>;
        expect(Object.keys(responses).length, where).toBeGreaterThan(0);
        for (const [status, r] of Object.entries(responses)) {
          expect(status, where).toMatch(/^([1-5][0-9]{2}|[1-5]XX|default)$/);
          expect(typeof r['description'], `${where} ${status}`).toBe('string');
        }
        if (op['requestBody'])
          expect(
            Object.keys((op['requestBody'] as Json)['content'] as Json).length,
          ).toBeGreaterThan(0);
      }
    }
  });

  it('documents every route the app serves, and nothing else', () => {
    const served = f.app.routes
      .filter((r) => r.method !== 'ALL')
      // The web console's files (served when it is built) are not part of the API.
      .filter((r) => r.path !== '/' && r.path !== '/assets/*')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`)
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`))
      .sort();
    expect(documented).toEqual(served);
    expect(served.length).toBeGreaterThan(50);
    // Public routes say so; every other one needs the bearer token.
    const open = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => Array.isArray(op['security']) && (op['security'] as []).length === 0)
        .map(([m]) => `${m} ${path}`),
    );
    expect(open.sort()).toEqual(['get /healthz', 'get /openapi.json']);
  });

  it('holds only valid JSON Schema 2020-12 whose references all resolve', () => {
    let n = 0;
    for (const [where, schema] of schemasOf(doc.paths, '#/paths')) {
      expect(() => ajv.compile(forAjv(schema) as object), where).not.toThrow();
      n++;
    }
    expect(n).toBeGreaterThan(100);
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) {
      const name = /#\/components\/schemas\/([^"]+)"/.exec(ref)?.[1];
      expect(name, ref).toBeDefined();
      expect(doc.components.schemas[name!], ref).toBeDefined();
    }
  });

  it('describes what the server really sends', async () => {
    const check = async (path: string, template: string, status: number, token?: string) => {
      const res = await call(f, 'GET', path, token ? { token } : {});
      expect(res.status, path).toBe(status);
      const op = doc.paths[template]!['get']!;
      const responses = op['responses'] as Record<string, { content: Record<string, Json> }>;
      const media = status < 400 ? 'application/json' : 'application/problem+json';
      const spec = (responses[String(status)] ?? responses['default'])!;
      const validate = ajv.compile(forAjv(spec.content[media]!['schema']) as object);
      const body: unknown = await res.json();
      expect(validate(body), `${path}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    };
    const root = f.tokens['root']!;
    await check('/v1/datasets', '/v1/datasets', 200, root);
    await check('/v1/datasets/mail', '/v1/datasets/{name}', 200, root);
    await check('/v1/snapshots/mail@1', '/v1/snapshots/{ref}', 200, root);
    await check('/v1/snapshots/mail@1/records?limit=3', '/v1/snapshots/{ref}/records', 200, root);
    await check('/v1/snapshots/mail@1/lineage', '/v1/snapshots/{ref}/lineage', 200, root);
    await check('/v1/snapshots/mail@1/status', '/v1/snapshots/{ref}/status', 200, root);
    await check('/v1/identities', '/v1/identities', 200, root);
    await check('/v1/tokens', '/v1/tokens', 200, root);
    await check('/v1/audit/events', '/v1/audit/events', 200, root);
    await check('/v1/policies', '/v1/policies', 200, root);
    await check('/v1/nhi/report', '/v1/nhi/report', 200, root);
    await check('/v1/datasets/nope', '/v1/datasets/{name}', 404, root);
    await check('/v1/datasets', '/v1/datasets', 401);
    const lineage = await ok<{ events: unknown[] }>(
      f,
      'GET',
      '/v1/snapshots/mail@1/lineage?format=openlineage',
      { token: root },
    );
    expect(lineage.events.length).toBeGreaterThan(0);
  });
});
