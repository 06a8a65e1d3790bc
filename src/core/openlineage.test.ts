import { readFileSync, readdirSync } from 'node:fs';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCordonError } from './errors.js';
import { sha256Hex } from './hashing.js';
import type { LineageRun, SnapshotRef } from './lineage.js';
import {
  FACET_SCHEMAS,
  OPENLINEAGE_RUN_EVENT_SCHEMA,
  runUuid,
  toOpenLineageEvents,
  type OpenLineageFacet,
  type OpenLineageOptions,
  type OpenLineageRunEvent,
} from './openlineage.js';

// ajv and ajv-formats are CommonJS; under NodeNext the default import is module.exports.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

const FIXTURES = new URL('../../test/fixtures/openlineage/', import.meta.url);
const EVENT_SCHEMA_ID = 'https://openlineage.io/spec/2-0-2/OpenLineage.json';

function readJson(url: URL): unknown {
  return JSON.parse(readFileSync(url, 'utf8')) as unknown;
}

type Ajv = InstanceType<typeof Ajv2020>;

/** Ajv 2020 with OpenLineage.json and every facet schema; facet files keyed by their $id. */
function openLineageAjv(): { ajv: Ajv; facetFiles: Map<string, string> } {
  // strictRequired is off because OpenLineage.json uses `not: { required: [...] }` on purpose.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  ajv.addKeyword('example'); // documentation keyword used throughout the OpenLineage schemas
  ajv.addSchema(readJson(new URL('OpenLineage.json', FIXTURES)) as object);
  const facetFiles = new Map<string, string>();
  const dir = new URL('facets/', FIXTURES);
  for (const file of readdirSync(dir).sort()) {
    const schema = readJson(new URL(file, dir)) as { $id: string };
    ajv.addSchema(schema);
    facetFiles.set(schema.$id, file);
  }
  return { ajv, facetFiles };
}

const hex = (s: string): string => sha256Hex(s);

function snap(dataset: string, version: number, stage: string, records = 100): SnapshotRef {
  return {
    id: hex(`snapshot ${dataset}@${version}`),
    dataset,
    version,
    root: hex(`root ${dataset}@${version}`),
    stage,
    recordCount: records,
    createdAt: `2025-03-0${version}T10:00:00.000Z`,
  };
}

const rawA = snap('reviews-raw', 1, 'raw', 1000);
const rawB = snap('forum-raw', 1, 'raw', 500);

const mergeRun: LineageRun = {
  id: '9a4f3c1e-6f0e-4a57-9d55-0c3c2b1e7f10',
  kind: 'merge',
  inputs: [rawA, rawB],
  output: snap('corpus', 3, 'merged', 1400),
  command: 'cordon merge reviews-raw forum-raw --into corpus',
  codeDigest: hex('merge code'),
  params: { strategy: 'prefer-left' },
  actor: 'alice',
  startedAt: '2025-03-04T09:00:00.000Z',
  finishedAt: '2025-03-04T09:05:30.250Z',
};

const ingestRun: LineageRun = {
  id: 'b7f1d2c3-0000-4000-8000-000000000001',
  kind: 'ingest',
  inputs: [],
  output: rawA,
  command: null,
  codeDigest: null,
  params: {},
  actor: 'carol',
  startedAt: '2025-03-01T10:00:00Z',
  finishedAt: '2025-03-01T10:00:02Z',
  source: 'reviews.jsonl',
};

const options: OpenLineageOptions = {
  namespace: 'acme-ml',
  producer: 'https://cordon.dev/cordon/0.1.0',
  attestation: { envelopeDigest: hex('provenance envelope') },
};

/** Standard (non-cordon_) facets of an event, each with its key and where it sits. */
function standardFacets(e: OpenLineageRunEvent): { key: string; where: string; facet: object }[] {
  const out: { key: string; where: string; facet: object }[] = [];
  const add = (where: string, facets: object | undefined): void => {
    for (const [key, facet] of Object.entries(facets ?? {})) {
      if (!key.startsWith('cordon_')) out.push({ key, where, facet: facet as object });
    }
  };
  add('run', e.run.facets);
  add('job', e.job.facets);
  e.inputs.forEach((d, i) => add(`inputs[${i}]`, d.facets));
  e.outputs.forEach((d, i) => {
    add(`outputs[${i}]`, d.facets);
    add(`outputs[${i}].outputFacets`, d.outputFacets);
  });
  return out;
}

function allFacets(e: OpenLineageRunEvent): [string, OpenLineageFacet][] {
  const entries = (facets: object): [string, OpenLineageFacet][] =>
    Object.entries(facets as Record<string, OpenLineageFacet>);
  return [
    ...entries(e.run.facets),
    ...entries(e.job.facets),
    ...[...e.inputs, ...e.outputs].flatMap((d) => entries(d.facets)),
    ...e.outputs.flatMap((d) => entries(d.outputFacets)),
  ];
}

const clone = <T>(v: T): T => structuredClone(v);

describe('OpenLineage export', () => {
  let ajv: Ajv;
  let facetFiles: Map<string, string>;

  beforeAll(() => {
    ({ ajv, facetFiles } = openLineageAjv());
  });

  const validateEvent = (e: unknown): string[] => {
    const validate = ajv.getSchema(EVENT_SCHEMA_ID);
    if (validate === undefined) throw new Error('OpenLineage.json not loaded');
    return validate(e) ? [] : (validate.errors ?? []).map((x) => `${x.instancePath} ${x.message}`);
  };

  const validateFacet = (schemaUrl: string, facet: unknown): string[] => {
    const validate = ajv.getSchema(schemaUrl);
    if (validate === undefined) throw new Error(`no schema at ${schemaUrl}`);
    return validate(facet)
      ? []
      : (validate.errors ?? []).map((x) => `${x.instancePath} ${x.message}`);
  };

  describe('the validator itself', () => {
    it('accepts the upstream facet examples for the facets Cordon emits', () => {
      for (const [dir, schemaUrl] of [
        ['DatasetVersionDatasetFacet', FACET_SCHEMAS.version],
        ['JobTypeJobFacet', FACET_SCHEMAS.jobType],
        ['OutputStatisticsOutputDatasetFacet', FACET_SCHEMAS.outputStatistics],
      ] as const) {
        const tests = new URL(`tests/${dir}/`, FIXTURES);
        for (const file of readdirSync(tests)) {
          const example = readJson(new URL(file, tests)) as Record<string, unknown>;
          for (const facet of Object.values(example)) {
            expect(validateFacet(schemaUrl, facet), `${dir}/${file}`).toEqual([]);
          }
        }
      }
    });

    it('rejects a deliberately broken event', () => {
      const [good] = toOpenLineageEvents(mergeRun, options);
      expect(validateEvent(good)).toEqual([]);

      const noRunId = clone(good) as unknown as { run: Record<string, unknown> };
      delete noRunId.run['runId'];
      expect(validateEvent(noRunId)).not.toEqual([]);

      const badUuid = clone(good);
      if (badUuid === undefined) throw new Error('no event');
      badUuid.run.runId = mergeRun.id.replace(/-/g, '');
      expect(validateEvent(badUuid)).not.toEqual([]);

      const badTime = clone(good);
      if (badTime === undefined) throw new Error('no event');
      badTime.eventTime = '4 March 2025';
      expect(validateEvent(badTime)).not.toEqual([]);

      const noProducer = clone(good) as unknown as {
        inputs: { facets: { version: Record<string, unknown> } }[];
      };
      const firstInput = noProducer.inputs[0];
      if (firstInput === undefined) throw new Error('no input');
      delete firstInput.facets.version['_producer'];
      expect(validateEvent(noProducer)).not.toEqual([]);
    });

    it('rejects facets that break their facet schema (which the event schema lets through)', () => {
      const [good] = toOpenLineageEvents(mergeRun, options);
      const version = clone(good?.inputs[0]?.facets.version) as unknown as Record<string, unknown>;
      expect(validateFacet(FACET_SCHEMAS.version, version)).toEqual([]);
      delete version['datasetVersion'];
      expect(validateFacet(FACET_SCHEMAS.version, version)).not.toEqual([]);

      const jobType = clone(good?.job.facets.jobType) as unknown as Record<string, unknown>;
      expect(validateFacet(FACET_SCHEMAS.jobType, jobType)).toEqual([]);
      delete jobType['integration'];
      expect(validateFacet(FACET_SCHEMAS.jobType, jobType)).not.toEqual([]);

      const stats = clone(good?.outputs[0]?.outputFacets.outputStatistics) as unknown as Record<
        string,
        unknown
      >;
      stats['rowCount'] = 'many';
      expect(validateFacet(FACET_SCHEMAS.outputStatistics, stats)).not.toEqual([]);
    });
  });

  describe.each([
    ['merge', mergeRun],
    ['ingest', ingestRun],
    [
      'transform without command or attestation',
      {
        ...mergeRun,
        kind: 'transform' as const,
        inputs: [rawA],
        command: null,
        codeDigest: null,
        params: {},
      },
    ],
  ])('%s run', (_name, run: LineageRun) => {
    const opts: OpenLineageOptions =
      run.command === null && run.kind === 'transform'
        ? { namespace: options.namespace, producer: options.producer }
        : options;

    it('gives events valid against OpenLineage.json (RunEvent 2-0-2)', () => {
      const events = toOpenLineageEvents(run, opts);
      expect(events).toHaveLength(2);
      for (const e of events) {
        expect(validateEvent(e)).toEqual([]);
        expect(e.schemaURL).toBe(OPENLINEAGE_RUN_EVENT_SCHEMA);
        expect(e.producer).toBe(opts.producer);
      }
    });

    it('gives standard facets valid against their facet schema files', () => {
      for (const e of toOpenLineageEvents(run, opts)) {
        const facets = standardFacets(e);
        expect(facets.length).toBeGreaterThanOrEqual(2 + e.inputs.length + e.outputs.length);
        for (const { key, where, facet } of facets) {
          const schemaUrl = (facet as OpenLineageFacet)._schemaURL;
          // The _schemaURL must name a definition in one of the fixture files...
          const [fileId] = schemaUrl.split('#');
          expect(facetFiles.has(fileId ?? ''), `${where}.${key}: ${schemaUrl}`).toBe(true);
          expect(schemaUrl).toMatch(/#\/\$defs\/[A-Za-z]+$/);
          // ...the facet must satisfy that definition...
          expect(validateFacet(schemaUrl, facet), `${where}.${key}`).toEqual([]);
          // ...and sit under the key the file's top-level schema gives it.
          expect(validateFacet(fileId ?? '', { [key]: facet }), `${where}.${key}`).toEqual([]);
          const file = readJson(new URL(`facets/${facetFiles.get(fileId ?? '')}`, FIXTURES)) as {
            properties: Record<string, unknown>;
          };
          expect(Object.keys(file.properties)).toContain(key);
        }
      }
    });

    it('gives every facet _producer and _schemaURL; custom ones point at cordon.dev', () => {
      for (const e of toOpenLineageEvents(run, opts)) {
        for (const [key, facet] of allFacets(e)) {
          expect(facet._producer).toBe(opts.producer);
          expect(URL.canParse(facet._schemaURL)).toBe(true);
          if (key.startsWith('cordon_')) {
            expect(facet._schemaURL).toMatch(
              /^https:\/\/cordon\.dev\/spec\/facets\/\d+-\d+-\d+\/Cordon[A-Za-z]+Facet\.json#\/\$defs\/Cordon[A-Za-z]+Facet$/,
            );
          } else {
            expect(facet._schemaURL.startsWith('https://openlineage.io/spec/facets/')).toBe(true);
          }
        }
      }
    });

    it('puts the DatasetVersion facet (= snapshot id) and cordon_snapshot on every input and output', () => {
      for (const e of toOpenLineageEvents(run, opts)) {
        const expected = [...run.inputs, run.output];
        const datasets = [...e.inputs, ...e.outputs];
        expect(datasets).toHaveLength(expected.length);
        datasets.forEach((d, i) => {
          const s = expected[i];
          if (s === undefined) throw new Error('missing snapshot');
          expect(d.namespace).toBe(`cordon://${opts.namespace}`);
          expect(d.name).toBe(s.dataset);
          expect(d.facets.version.datasetVersion).toBe(s.id);
          expect(d.facets.version._schemaURL).toBe(FACET_SCHEMAS.version);
          expect(d.facets.cordon_snapshot).toMatchObject({
            root: s.root,
            version: s.version,
            stage: s.stage,
            recordCount: s.recordCount,
          });
        });
        expect(e.outputs[0]?.outputFacets.outputStatistics.rowCount).toBe(run.output.recordCount);
      }
    });

    it('emits START at startedAt, then COMPLETE at finishedAt', () => {
      const [start, complete] = toOpenLineageEvents(run, opts);
      expect(start?.eventType).toBe('START');
      expect(complete?.eventType).toBe('COMPLETE');
      expect(start?.eventTime).toBe(run.startedAt);
      expect(complete?.eventTime).toBe(run.finishedAt);
      expect(Date.parse(start?.eventTime ?? '')).toBeLessThanOrEqual(
        Date.parse(complete?.eventTime ?? ''),
      );
      expect(start?.run.runId).toBe(complete?.run.runId);
    });

    it('names the job after the run kind and output dataset, with a BATCH CORDON jobType', () => {
      for (const e of toOpenLineageEvents(run, opts)) {
        expect(e.job.namespace).toBe(opts.namespace);
        expect(e.job.name).toBe(`cordon.${run.kind}.${run.output.dataset}`);
        expect(e.job.facets.jobType).toMatchObject({
          processingType: 'BATCH',
          integration: 'CORDON',
          jobType: run.kind.toUpperCase(),
        });
        expect(e.job.facets).not.toHaveProperty('sourceCodeLocation');
      }
    });
  });

  describe('run id', () => {
    const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

    it('is stable for the same run and differs between runs', () => {
      const a = toOpenLineageEvents(mergeRun, options)[0]?.run.runId;
      const b = toOpenLineageEvents(clone(mergeRun), options)[1]?.run.runId;
      const c = toOpenLineageEvents(ingestRun, options)[0]?.run.runId;
      expect(a).toBe(b);
      expect(a).not.toBe(c);
      expect(runUuid(mergeRun.id)).toBe(a);
    });

    it('is an RFC 9562 version 8 UUID whose other bits are SHA-256 of the run id', () => {
      for (const id of [mergeRun.id, ingestRun.id, '', 'x', 'ünïcødé run']) {
        const uuid = runUuid(id);
        expect(uuid).toMatch(UUID_V8);
        const digest = BigInt(`0x${sha256Hex(`cordon:openlineage:run:${id}`).slice(0, 32)}`);
        const got = BigInt(`0x${uuid.replace(/-/g, '')}`);
        const fixed = (0xfn << 76n) | (0x3n << 62n); // version nibble, variant bits
        expect(got & ~fixed).toBe(digest & ~fixed);
        expect((got >> 76n) & 0xfn).toBe(8n);
        expect((got >> 62n) & 0x3n).toBe(2n);
      }
    });
  });

  describe('custom facets', () => {
    it('carries the attestation envelope digest only when given', () => {
      const [withAtt] = toOpenLineageEvents(mergeRun, options);
      expect(withAtt?.run.facets.cordon_attestation?.envelopeDigest).toBe(
        options.attestation?.envelopeDigest,
      );
      const [without] = toOpenLineageEvents(mergeRun, {
        namespace: options.namespace,
        producer: options.producer,
      });
      expect(without?.run.facets).toEqual({});
    });

    it('records command, code digest and params in cordon_command, and the ingest source', () => {
      const [merge] = toOpenLineageEvents(mergeRun, options);
      expect(merge?.job.facets.cordon_command).toEqual({
        _producer: options.producer,
        _schemaURL: FACET_SCHEMAS.cordon_command,
        command: mergeRun.command,
        codeDigest: mergeRun.codeDigest,
        params: mergeRun.params,
      });
      const [ingest] = toOpenLineageEvents(ingestRun, options);
      expect(ingest?.job.facets.cordon_command).toEqual({
        _producer: options.producer,
        _schemaURL: FACET_SCHEMAS.cordon_command,
        source: 'reviews.jsonl',
      });
      const bare = { ...mergeRun, command: null, codeDigest: null, params: {} };
      expect(toOpenLineageEvents(bare, options)[0]?.job.facets).not.toHaveProperty(
        'cordon_command',
      );
    });
  });

  it('gives events that share no objects and survive JSON', () => {
    const [start, complete] = toOpenLineageEvents(mergeRun, options);
    expect(start?.inputs[0]).not.toBe(complete?.inputs[0]);
    expect(start?.job.facets).not.toBe(complete?.job.facets);
    expect(JSON.parse(JSON.stringify(start))).toEqual(start);
  });

  it('rejects a bad producer, an empty namespace and a run that ends before it starts', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isCordonError(e) ? e.code : 'not a CordonError';
      }
      return undefined;
    };
    expect(code(() => toOpenLineageEvents(mergeRun, { ...options, producer: 'cordon' }))).toBe(
      'INPUT_INVALID',
    );
    expect(code(() => toOpenLineageEvents(mergeRun, { ...options, namespace: '' }))).toBe(
      'INPUT_INVALID',
    );
    const backwards = { ...mergeRun, finishedAt: '2025-03-04T08:59:59Z' };
    expect(code(() => toOpenLineageEvents(backwards, options))).toBe('INPUT_INVALID');
    const garbled = { ...mergeRun, startedAt: 'yesterday' };
    expect(code(() => toOpenLineageEvents(garbled, options))).toBe('INPUT_INVALID');
  });
});
