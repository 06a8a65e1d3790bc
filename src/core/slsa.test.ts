import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { isCordonError } from './errors.js';
import { sha256Hex } from './hashing.js';
import type { LineageRun, SnapshotRef } from './lineage.js';
import {
  SLSA_PROVENANCE_V1,
  buildTypeOf,
  snapshotUri,
  toSlsaProvenance,
  type ResourceDescriptor,
} from './slsa.js';
import { STATEMENT_TYPE, parseStatement, statementBytes, subjectDigest } from './statement.js';

const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

/**
 * The field rules of SLSA provenance v1.0 (https://slsa.dev/spec/v1.0/provenance) and in-toto
 * Statement v1 / ResourceDescriptor v1, written out as a JSON Schema so the tests can check them
 * mechanically. Only what the specs make REQUIRED or constrain is encoded.
 */
const resourceDescriptor = {
  type: 'object',
  properties: {
    uri: { type: 'string', format: 'uri' },
    digest: {
      type: 'object',
      minProperties: 1,
      properties: { sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
      additionalProperties: { type: 'string', pattern: '^[0-9a-f]+$' },
    },
    name: { type: 'string' },
    downloadLocation: { type: 'string', format: 'uri' },
    mediaType: { type: 'string' },
    content: { type: 'string' },
    annotations: { type: 'object' },
  },
  anyOf: [{ required: ['uri'] }, { required: ['digest'] }, { required: ['content'] }],
};
const slsaStatementSchema = {
  type: 'object',
  required: ['_type', 'subject', 'predicateType', 'predicate'],
  properties: {
    _type: { const: 'https://in-toto.io/Statement/v1' },
    subject: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'digest'],
        properties: { name: { type: 'string' }, digest: resourceDescriptor.properties.digest },
      },
    },
    predicateType: { const: 'https://slsa.dev/provenance/v1' },
    predicate: {
      type: 'object',
      required: ['buildDefinition', 'runDetails'],
      properties: {
        buildDefinition: {
          type: 'object',
          required: ['buildType', 'externalParameters'],
          properties: {
            buildType: { type: 'string', format: 'uri' },
            externalParameters: { type: 'object' },
            internalParameters: { type: 'object' },
            resolvedDependencies: { type: 'array', items: resourceDescriptor },
          },
        },
        runDetails: {
          type: 'object',
          required: ['builder'],
          properties: {
            builder: {
              type: 'object',
              required: ['id'],
              properties: {
                id: { type: 'string', format: 'uri' },
                builderDependencies: { type: 'array', items: resourceDescriptor },
                version: { type: 'object', additionalProperties: { type: 'string' } },
              },
            },
            metadata: {
              type: 'object',
              properties: {
                invocationId: { type: 'string' },
                startedOn: { type: 'string', format: 'date-time' },
                finishedOn: { type: 'string', format: 'date-time' },
              },
            },
            byproducts: { type: 'array', items: resourceDescriptor },
          },
        },
      },
    },
  },
};

// strictRequired is off: the anyOf branches name properties declared one level up.
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
addFormats(ajv);
const validateSlsa = ajv.compile(slsaStatementSchema);
const slsaErrors = (v: unknown): string[] =>
  validateSlsa(v)
    ? []
    : (validateSlsa.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);

const hex = (s: string): string => sha256Hex(s);

function snap(dataset: string, version: number, stage: string): SnapshotRef {
  return {
    id: hex(`snapshot ${dataset}@${version}`),
    dataset,
    version,
    root: hex(`root ${dataset}@${version}`),
    stage,
    recordCount: 10 * version,
    createdAt: '2025-03-01T10:00:00.000Z',
  };
}

const inputs = [snap('reviews', 2, 'clean'), snap('forum', 5, 'clean')];
const mergeRun: LineageRun = {
  id: '0d7c6d2e-3b1f-4c53-a7a5-5d2f0a9e4b21',
  kind: 'merge',
  inputs,
  output: snap('corpus', 1, 'merged'),
  command: 'cordon merge reviews forum --into corpus',
  codeDigest: hex('code'),
  params: { strategy: 'prefer-left', dedup: 'true' },
  actor: 'alice',
  startedAt: '2025-03-04T09:00:00.000Z',
  finishedAt: '2025-03-04T09:05:00.000Z',
};
const ingestRun: LineageRun = {
  id: 'ingest-1',
  kind: 'ingest',
  inputs: [],
  output: snap('reviews', 1, 'raw'),
  command: null,
  codeDigest: null,
  params: {},
  actor: 'carol',
  startedAt: '2025-03-01T10:00:00Z',
  finishedAt: '2025-03-01T10:00:01Z',
  source: 'reviews.jsonl',
};
const BUILDER = 'https://cordon.dev/builders/cli/v1';

describe('SLSA provenance', () => {
  it('is an in-toto Statement v1 with SLSA provenance v1 that meets the field rules', () => {
    for (const run of [mergeRun, ingestRun]) {
      const st = toSlsaProvenance(run, { builderId: BUILDER });
      expect(st._type).toBe(STATEMENT_TYPE);
      expect(st.predicateType).toBe(SLSA_PROVENANCE_V1);
      expect(st.predicateType).toBe('https://slsa.dev/provenance/v1');
      expect(slsaErrors(st)).toEqual([]);
      expect(st.predicate.buildDefinition.buildType).toBe(
        `https://cordon.dev/buildtypes/${run.kind}/v1`,
      );
      expect(st.predicate.runDetails.builder.id).toBe(BUILDER);
    }
  });

  it('the field-rule check can fail', () => {
    const st = toSlsaProvenance(mergeRun, { builderId: BUILDER });
    const broken = structuredClone(st) as unknown as {
      predicate: { runDetails: { builder: Record<string, unknown> } };
    };
    delete broken.predicate.runDetails.builder['id'];
    expect(slsaErrors(broken)).not.toEqual([]);

    const noExternal = structuredClone(st) as unknown as {
      predicate: { buildDefinition: Record<string, unknown> };
    };
    delete noExternal.predicate.buildDefinition['externalParameters'];
    expect(slsaErrors(noExternal)).not.toEqual([]);

    const emptyDep = structuredClone(st);
    emptyDep.predicate.buildDefinition.resolvedDependencies?.push({ name: 'nothing' });
    expect(slsaErrors(emptyDep)).not.toEqual([]);
  });

  it('has the output snapshot as its only subject, digest = Merkle root', () => {
    const st = toSlsaProvenance(mergeRun, { builderId: BUILDER });
    expect(st.subject).toEqual([
      { name: mergeRun.output.dataset, digest: { sha256: mergeRun.output.root } },
    ]);
    // It round-trips through the statement bytes Cordon signs.
    const parsed = parseStatement(statementBytes(st));
    expect(subjectDigest(parsed)).toBe(mergeRun.output.root);
    expect(parsed).toEqual(st);
  });

  it('lists every input in resolvedDependencies with its root, and the code', () => {
    const deps = toSlsaProvenance(mergeRun, { builderId: BUILDER }).predicate.buildDefinition
      .resolvedDependencies;
    for (const s of inputs) {
      const dep = deps?.find((d) => d.name === s.id);
      expect(dep, s.id).toEqual({
        uri: `cordon:${s.dataset}@${s.version}`,
        digest: { sha256: s.root },
        name: s.id,
      });
      expect(dep?.uri).toBe(snapshotUri(s));
    }
    expect(deps?.filter((d) => d.uri === 'cordon:code')).toEqual([
      { uri: 'cordon:code', digest: { sha256: mergeRun.codeDigest } },
    ]);
    expect(deps).toHaveLength(inputs.length + 1);
  });

  it('has no code dependency without a code digest, and no dependencies for an ingest', () => {
    const deps = toSlsaProvenance(ingestRun, { builderId: BUILDER }).predicate.buildDefinition
      .resolvedDependencies;
    expect(deps).toEqual([]);
    const noCode = toSlsaProvenance({ ...mergeRun, codeDigest: null }, { builderId: BUILDER });
    const uris = (noCode.predicate.buildDefinition.resolvedDependencies ?? []).map(
      (d: ResourceDescriptor) => d.uri,
    );
    expect(uris).toEqual(['cordon:reviews@2', 'cordon:forum@5']);
  });

  it('puts everything the user chose in externalParameters', () => {
    const merge = toSlsaProvenance(mergeRun, { builderId: BUILDER }).predicate.buildDefinition;
    expect(merge.externalParameters).toEqual({
      command: mergeRun.command,
      params: mergeRun.params,
      inputs: ['reviews@v2', 'forum@v5'],
    });
    expect(merge.externalParameters.params).not.toBe(mergeRun.params);
    const ingest = toSlsaProvenance(ingestRun, { builderId: BUILDER }).predicate.buildDefinition;
    expect(ingest.externalParameters).toEqual({
      command: null,
      params: {},
      inputs: [],
      source: 'reviews.jsonl',
    });
    expect(ingest.buildType).toBe(buildTypeOf('ingest'));
  });

  it('records the invocation: run id by default, or the one given, and the run times', () => {
    const st = toSlsaProvenance(mergeRun, { builderId: BUILDER });
    expect(st.predicate.runDetails.metadata).toEqual({
      invocationId: mergeRun.id,
      startedOn: mergeRun.startedAt,
      finishedOn: mergeRun.finishedAt,
    });
    const given = toSlsaProvenance(mergeRun, { builderId: BUILDER, invocationId: 'ci-123' });
    expect(given.predicate.runDetails.metadata?.invocationId).toBe('ci-123');
  });

  it('rejects digests that are not hex SHA-256 and a builder id that is not a URI', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isCordonError(e) ? e.code : 'not a CordonError';
      }
      return undefined;
    };
    const badRoot = { ...mergeRun, output: { ...mergeRun.output, root: 'ABC' } };
    expect(code(() => toSlsaProvenance(badRoot, { builderId: BUILDER }))).toBe('INPUT_INVALID');
    const badInput = { ...mergeRun, inputs: [{ ...snap('x', 1, 'raw'), root: 'sha256:00' }] };
    expect(code(() => toSlsaProvenance(badInput, { builderId: BUILDER }))).toBe('INPUT_INVALID');
    const badCode = { ...mergeRun, codeDigest: hex('c').toUpperCase() };
    expect(code(() => toSlsaProvenance(badCode, { builderId: BUILDER }))).toBe('INPUT_INVALID');
    expect(code(() => toSlsaProvenance(mergeRun, { builderId: 'cordon cli' }))).toBe(
      'INPUT_INVALID',
    );
  });
});
