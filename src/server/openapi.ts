import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { isRawBody, type AnyRoute } from './api.js';
import { PROBLEM_MEDIA_TYPE } from './problem.js';
import { Problem } from './schemas.js';

type Json = Record<string, unknown>;
type Io = 'input' | 'output';

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Json>>;
  components: Json & { schemas: Record<string, Json> };
  security: Record<string, string[]>[];
  tags: { name: string; description: string }[];
}

const TAGS: Record<string, string> = {
  meta: 'The API itself',
  datasets: 'Datasets, snapshots and their records',
  ingest: 'Committing new snapshots: uploads, transforms, merges, relabelling',
  jobs: 'Long operations (ingest, scan) and their progress',
  scans: 'Poisoning scans of stored snapshots',
  governance: 'Gates, approvals, states, review and quarantine',
  identities: 'Humans, service accounts, roles and API tokens',
  audit: 'The tamper-evident audit log and the Cedar policies',
};

/**
 * Converts zod schemas into the JSON Schema (2020-12) of an OpenAPI 3.1 document. Schemas
 * registered as components are pulled out of every conversion and shared; a component whose
 * request form differs from its response form (defaults make fields optional on the way in) is
 * kept twice, the request form named with an "Input" suffix.
 */
class SchemaSet {
  private readonly defs: Record<Io, Map<string, Json>> = { input: new Map(), output: new Map() };
  private readonly made: { json: unknown; io: Io }[] = [];

  convert(schema: z.ZodType, io: Io): Json {
    const json = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
    }) as Json;
    delete json['$schema'];
    const defs = (json['$defs'] ?? {}) as Record<string, Json>;
    delete json['$defs'];
    for (const [name, def] of Object.entries(defs)) {
      const known = this.defs[io].get(name);
      if (known && !isDeepStrictEqual(known, def))
        throw new Error(`two different schemas are registered as component "${name}"`);
      this.defs[io].set(name, def);
      this.made.push({ json: def, io });
    }
    this.made.push({ json, io });
    return json;
  }

  /** Resolves every $ref to its component and returns the components. */
  finish(): Record<string, Json> {
    const out: Record<string, Json> = {};
    const rename = new Map<string, string>();
    for (const [name, def] of this.defs.output) out[name] = def;
    for (const [name, def] of this.defs.input) {
      const same = out[name] !== undefined && isDeepStrictEqual(out[name], def);
      const target = same || out[name] === undefined ? name : `${name}Input`;
      rename.set(name, target);
      out[target] = def;
    }
    const seen = new Set<unknown>();
    const walk = (node: unknown, io: Io): void => {
      if (typeof node !== 'object' || node === null || seen.has(node)) return;
      seen.add(node);
      if (Array.isArray(node)) return node.forEach((n) => walk(n, io));
      const obj = node as Json;
      const ref = obj['$ref'];
      if (typeof ref === 'string' && ref.startsWith('#/$defs/')) {
        const name = ref.slice('#/$defs/'.length);
        obj['$ref'] = `#/components/schemas/${io === 'input' ? (rename.get(name) ?? name) : name}`;
      }
      for (const value of Object.values(obj)) walk(value, io);
    };
    for (const { json, io } of this.made) walk(json, io);
    return out;
  }
}

/** The zod object behind a params or query schema, whatever wraps it. */
function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  if (!schema) return {};
  if (schema instanceof z.ZodObject) return schema.shape;
  throw new Error('path and query schemas must be zod objects');
}

function isOptional(schema: z.ZodType): boolean {
  return schema.safeParse(undefined).success;
}

/** Builds the OpenAPI 3.1 document of `routes`. */
export function openApiDocument(routes: readonly AnyRoute[], version: string): OpenApiDocument {
  const set = new SchemaSet();
  const problem = { $ref: '#/components/schemas/Problem' };
  set.convert(Problem, 'output');
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const parameters: Json[] = [];
    for (const [where, schema] of [
      ['path', route.params],
      ['query', route.query],
    ] as const) {
      for (const [name, field] of Object.entries(shapeOf(schema))) {
        const json = set.convert(field, 'input');
        const description = json['description'];
        delete json['description'];
        parameters.push({
          name,
          in: where,
          required: where === 'path' || !isOptional(field),
          ...(typeof description === 'string' ? { description } : {}),
          schema: json,
          ...(json['type'] === 'array' ? { style: 'form', explode: true } : {}),
        });
      }
    }
    let requestBody: Json | undefined;
    if (isRawBody(route.body)) {
      const raw = route.body.raw;
      requestBody = {
        description: raw.description,
        required: raw.required ?? true,
        content: Object.fromEntries(
          raw.contentTypes.map((t) => [t, { schema: { type: 'string' } }]),
        ),
      };
    } else if (route.body) {
      requestBody = {
        ...(route.body.description ? { description: route.body.description } : {}),
        required: !isOptional(route.body.json),
        content: { 'application/json': { schema: set.convert(route.body.json, 'input') } },
      };
    }
    const responses: Json = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      const content: Json = { ...(spec.content ?? {}) };
      if (spec.json) content['application/json'] = { schema: set.convert(spec.json, 'output') };
      responses[status] = {
        description: spec.description,
        ...(spec.headers ? { headers: spec.headers } : {}),
        ...(Object.keys(content).length ? { content } : {}),
      };
    }
    responses['default'] = {
      description: 'An error, as RFC 9457 problem details',
      content: { [PROBLEM_MEDIA_TYPE]: { schema: problem } },
    };
    const operation: Json = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
      ...(route.public ? { security: [] } : {}),
    };
    (paths[route.path] ??= {})[route.method] = operation;
  }
  const schemas = set.finish();
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cordon API',
      version,
      description:
        'Governed ML training datasets: signed snapshots, poisoning scans, approvals, gates, review, quarantine and a tamper-evident audit log. Authenticate with `Authorization: Bearer <Cordon API token>`. Errors are RFC 9457 problem details. See docs/API.md.',
    },
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A Cordon API token (cordon token create): cordon_pat_… or cordon_nhi_…',
        },
      },
      schemas,
    },
    paths,
  };
}
