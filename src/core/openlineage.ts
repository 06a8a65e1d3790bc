import { CordonError } from './errors.js';
import { sha256 } from './hashing.js';
import type { LineageRun, LineageRunKind, SnapshotRef } from './lineage.js';

/**
 * OpenLineage 2-0-2 export of one lineage run: a START and a COMPLETE RunEvent.
 *
 * Naming (https://openlineage.io/docs/spec/naming):
 * - job:     namespace = options.namespace as given; name = `cordon.<kind>.<output dataset>`.
 * - dataset: namespace = `cordon://<options.namespace>`; name = the Cordon dataset name. The
 *            `cordon://` scheme marks the data source as a Cordon store, the authority names which
 *            one (a host or workspace name), as the spec's `scheme://authority` namespaces do. A
 *            dataset keeps one name across snapshots; the snapshot id is the dataset *version*
 *            (DatasetVersionDatasetFacet), set on every input and output.
 *
 * Standard facets follow the schemas in OpenLineage's spec/facets; the custom ones are prefixed
 * `cordon_` and point at schemas under https://cordon.dev/spec/facets/.
 */

export const OPENLINEAGE_RUN_EVENT_SCHEMA =
  'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

export const FACET_SCHEMAS = {
  version:
    'https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet',
  jobType: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
  outputStatistics:
    'https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet',
  cordon_snapshot:
    'https://cordon.dev/spec/facets/1-0-0/CordonSnapshotDatasetFacet.json#/$defs/CordonSnapshotDatasetFacet',
  cordon_command:
    'https://cordon.dev/spec/facets/1-0-0/CordonCommandJobFacet.json#/$defs/CordonCommandJobFacet',
  cordon_attestation:
    'https://cordon.dev/spec/facets/1-0-0/CordonAttestationRunFacet.json#/$defs/CordonAttestationRunFacet',
} as const;

export interface OpenLineageFacet {
  _producer: string;
  _schemaURL: string;
}

/** Standard DatasetVersionDatasetFacet; `datasetVersion` is the snapshot id. */
export interface DatasetVersionFacet extends OpenLineageFacet {
  datasetVersion: string;
}

/** Standard OutputStatisticsOutputDatasetFacet; `rowCount` is the snapshot's record count. */
export interface OutputStatisticsFacet extends OpenLineageFacet {
  rowCount: number;
}

/** Standard JobTypeJobFacet. */
export interface JobTypeFacet extends OpenLineageFacet {
  processingType: 'BATCH';
  integration: 'CORDON';
  jobType: Uppercase<LineageRunKind>;
}

/** Custom dataset facet `cordon_snapshot`: what Cordon knows about the snapshot. */
export interface CordonSnapshotFacet extends OpenLineageFacet {
  /** Merkle root over the snapshot's records, hex SHA-256. */
  root: string;
  /** Cordon's per-dataset version number (the snapshot id is the OpenLineage version). */
  version: number;
  stage: string;
  recordCount: number;
  createdAt: string;
}

/**
 * Custom job facet `cordon_command`: how the run was invoked. Not SourceCodeLocationJobFacet:
 * Cordon knows a command line and a code digest, not a repository location. Present when any of
 * its fields is known; fields that are not known are left out.
 */
export interface CordonCommandFacet extends OpenLineageFacet {
  command?: string;
  /** Hex SHA-256 of the code that ran. */
  codeDigest?: string;
  params?: Record<string, string>;
  /** Ingest runs: the file that was ingested. */
  source?: string;
}

/** Custom run facet `cordon_attestation`: the signed provenance for this run. */
export interface CordonAttestationFacet extends OpenLineageFacet {
  /** Hex SHA-256 of the DSSE envelope holding the run's SLSA provenance. */
  envelopeDigest: string;
}

export interface OpenLineageDatasetFacets {
  version: DatasetVersionFacet;
  cordon_snapshot: CordonSnapshotFacet;
}

export interface OpenLineageInputDataset {
  namespace: string;
  name: string;
  facets: OpenLineageDatasetFacets;
}

export interface OpenLineageOutputDataset extends OpenLineageInputDataset {
  outputFacets: { outputStatistics: OutputStatisticsFacet };
}

export interface OpenLineageRunEvent {
  eventType: 'START' | 'COMPLETE';
  eventTime: string;
  producer: string;
  schemaURL: typeof OPENLINEAGE_RUN_EVENT_SCHEMA;
  run: { runId: string; facets: { cordon_attestation?: CordonAttestationFacet } };
  job: {
    namespace: string;
    name: string;
    facets: { jobType: JobTypeFacet; cordon_command?: CordonCommandFacet };
  };
  inputs: OpenLineageInputDataset[];
  outputs: OpenLineageOutputDataset[];
}

export interface OpenLineageOptions {
  /** Job namespace; datasets live in `cordon://<namespace>`. */
  namespace: string;
  /** URI of the producer (this Cordon build), put in every event and facet. */
  producer: string;
  /** The run's signed provenance, when there is one. */
  attestation?: { envelopeDigest: string };
}

const JOB_TYPES: Record<LineageRunKind, Uppercase<LineageRunKind>> = {
  ingest: 'INGEST',
  transform: 'TRANSFORM',
  merge: 'MERGE',
};

const RUN_UUID_DOMAIN = 'cordon:openlineage:run:';

/**
 * A stable RFC 9562 UUID for a Cordon run id: the first 128 bits of
 * SHA-256("cordon:openlineage:run:" + runId) with the version nibble set to 8 (custom) and the
 * variant bits to 10. The same run always gets the same OpenLineage runId, so re-exporting a run
 * updates it instead of creating a new one.
 */
export function runUuid(runId: string): string {
  const b = sha256(RUN_UUID_DOMAIN + runId).subarray(0, 16);
  b.writeUInt8((b.readUInt8(6) & 0x0f) | 0x80, 6);
  b.writeUInt8((b.readUInt8(8) & 0x3f) | 0x80, 8);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function facet(producer: string, name: keyof typeof FACET_SCHEMAS): OpenLineageFacet {
  return { _producer: producer, _schemaURL: FACET_SCHEMAS[name] };
}

function datasetFacets(s: SnapshotRef, producer: string): OpenLineageDatasetFacets {
  return {
    version: { ...facet(producer, 'version'), datasetVersion: s.id },
    cordon_snapshot: {
      ...facet(producer, 'cordon_snapshot'),
      root: s.root,
      version: s.version,
      stage: s.stage,
      recordCount: s.recordCount,
      createdAt: s.createdAt,
    },
  };
}

function commandFacet(run: LineageRun, producer: string): CordonCommandFacet | undefined {
  const hasParams = Object.keys(run.params).length > 0;
  if (run.command === null && run.codeDigest === null && !hasParams && run.source === undefined) {
    return undefined;
  }
  const f: CordonCommandFacet = facet(producer, 'cordon_command');
  if (run.command !== null) f.command = run.command;
  if (run.codeDigest !== null) f.codeDigest = run.codeDigest;
  if (hasParams) f.params = { ...run.params };
  if (run.source !== undefined) f.source = run.source;
  return f;
}

function isAbsoluteUri(s: string): boolean {
  return URL.canParse(s);
}

function timeOf(s: string, what: string): number {
  const t = Date.parse(s);
  if (!/^\d{4}-\d\d-\d\dT/.test(s) || Number.isNaN(t)) {
    throw new CordonError('INPUT_INVALID', `${what} ${JSON.stringify(s)} is not an RFC 3339 time`);
  }
  return t;
}

function event(
  eventType: OpenLineageRunEvent['eventType'],
  eventTime: string,
  run: LineageRun,
  options: OpenLineageOptions,
): OpenLineageRunEvent {
  const { producer } = options;
  const datasetNamespace = `cordon://${options.namespace}`;
  const runFacets: OpenLineageRunEvent['run']['facets'] = {};
  if (options.attestation !== undefined) {
    runFacets.cordon_attestation = {
      ...facet(producer, 'cordon_attestation'),
      envelopeDigest: options.attestation.envelopeDigest,
    };
  }
  const jobFacets: OpenLineageRunEvent['job']['facets'] = {
    jobType: {
      ...facet(producer, 'jobType'),
      processingType: 'BATCH',
      integration: 'CORDON',
      jobType: JOB_TYPES[run.kind],
    },
  };
  const command = commandFacet(run, producer);
  if (command !== undefined) jobFacets.cordon_command = command;
  return {
    eventType,
    eventTime,
    producer,
    schemaURL: OPENLINEAGE_RUN_EVENT_SCHEMA,
    run: { runId: runUuid(run.id), facets: runFacets },
    job: {
      namespace: options.namespace,
      name: `cordon.${run.kind}.${run.output.dataset}`,
      facets: jobFacets,
    },
    inputs: run.inputs.map((s) => ({
      namespace: datasetNamespace,
      name: s.dataset,
      facets: datasetFacets(s, producer),
    })),
    outputs: [
      {
        namespace: datasetNamespace,
        name: run.output.dataset,
        facets: datasetFacets(run.output, producer),
        outputFacets: {
          outputStatistics: {
            ...facet(producer, 'outputStatistics'),
            rowCount: run.output.recordCount,
          },
        },
      },
    ],
  };
}

/**
 * The run as two OpenLineage RunEvents: START at `startedAt`, then COMPLETE at `finishedAt`. Both
 * carry the full job, inputs and outputs (the run is exported after the fact, so everything is
 * known at START). Events share no objects. Throws INPUT_INVALID for an empty namespace, a
 * producer that is not an absolute URI, or run times that are not RFC 3339 or run backwards.
 */
export function toOpenLineageEvents(
  run: LineageRun,
  options: OpenLineageOptions,
): OpenLineageRunEvent[] {
  if (options.namespace === '') {
    throw new CordonError('INPUT_INVALID', 'OpenLineage namespace is empty');
  }
  if (!isAbsoluteUri(options.producer)) {
    throw new CordonError(
      'INPUT_INVALID',
      `OpenLineage producer ${JSON.stringify(options.producer)} is not an absolute URI`,
    );
  }
  if (timeOf(run.finishedAt, 'run finishedAt') < timeOf(run.startedAt, 'run startedAt')) {
    throw new CordonError(
      'INPUT_INVALID',
      `run ${run.id} finished (${run.finishedAt}) before it started (${run.startedAt})`,
    );
  }
  return [
    event('START', run.startedAt, run, options),
    event('COMPLETE', run.finishedAt, run, options),
  ];
}
