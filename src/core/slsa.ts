import { CordonError } from './errors.js';
import { isDigest } from './hashing.js';
import type { LineageRun, LineageRunKind, SnapshotRef } from './lineage.js';
import { STATEMENT_TYPE, type Statement } from './statement.js';

/**
 * SLSA v1.0 provenance (https://slsa.dev/spec/v1.0/provenance) for one lineage run, as an
 * in-toto Statement v1. The subject is the snapshot the run wrote; the build definition says
 * what kind of run it was and what it read; the run details say who ran it and when.
 */

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

/** in-toto ResourceDescriptor v1. At least one of uri, digest, content must be set. */
export interface ResourceDescriptor {
  uri?: string;
  digest?: Record<string, string>;
  name?: string;
  downloadLocation?: string;
  mediaType?: string;
  /** Base64 in JSON. */
  content?: string;
  annotations?: Record<string, unknown>;
}

/** Everything about a Cordon run that the person running it chose. */
export interface CordonExternalParameters {
  command: string | null;
  params: Record<string, string>;
  /** Input snapshots as `dataset@vN`, in the order the run read them. */
  inputs: string[];
  /** Ingest runs: the file that was ingested. */
  source?: string;
}

export interface SlsaBuildDefinition<E = unknown, I = unknown> {
  /** TypeURI naming the template for everything else in the build definition. */
  buildType: string;
  externalParameters: E;
  internalParameters?: I;
  resolvedDependencies?: ResourceDescriptor[];
}

export interface SlsaBuilder {
  /** TypeURI. */
  id: string;
  builderDependencies?: ResourceDescriptor[];
  version?: Record<string, string>;
}

export interface SlsaBuildMetadata {
  invocationId?: string;
  /** RFC 3339. */
  startedOn?: string;
  /** RFC 3339. */
  finishedOn?: string;
}

export interface SlsaRunDetails {
  builder: SlsaBuilder;
  metadata?: SlsaBuildMetadata;
  byproducts?: ResourceDescriptor[];
}

/** The SLSA v1.0 provenance predicate, with Cordon's external parameters. */
export interface SlsaProvenancePredicate<E = CordonExternalParameters> {
  buildDefinition: SlsaBuildDefinition<E>;
  runDetails: SlsaRunDetails;
}

export interface SlsaOptions {
  /** TypeURI of the builder, e.g. https://cordon.dev/builders/cli/v1. */
  builderId: string;
  /** Defaults to the run id. */
  invocationId?: string;
}

/** `https://cordon.dev/buildtypes/<kind>/v1`: the meaning of a Cordon run's parameters. */
export function buildTypeOf(kind: LineageRunKind): string {
  return `https://cordon.dev/buildtypes/${kind}/v1`;
}

/** `cordon:<dataset>@<version>`; the dataset name is percent-encoded where a URI needs it. */
export function snapshotUri(s: SnapshotRef): string {
  return `cordon:${encodeURIComponent(s.dataset)}@${s.version}`;
}

function digestOf(value: string, what: string): string {
  if (!isDigest(value)) {
    throw new CordonError('INPUT_INVALID', `${what} ${JSON.stringify(value)} is not a hex SHA-256`);
  }
  return value;
}

/**
 * SLSA provenance for a run. Subject: the output snapshot (dataset name, sha256 = Merkle root).
 * Resolved dependencies: every input snapshot (by root, named by snapshot id) and, when known,
 * the code that ran. Throws INPUT_INVALID when a root or the code digest is not a hex SHA-256 or
 * the builder id is not an absolute URI.
 */
export function toSlsaProvenance(
  run: LineageRun,
  options: SlsaOptions,
): Statement<SlsaProvenancePredicate> {
  if (!URL.canParse(options.builderId)) {
    throw new CordonError(
      'INPUT_INVALID',
      `builder id ${JSON.stringify(options.builderId)} is not an absolute URI`,
    );
  }
  const externalParameters: CordonExternalParameters = {
    command: run.command,
    params: { ...run.params },
    inputs: run.inputs.map((s) => `${s.dataset}@v${s.version}`),
  };
  if (run.source !== undefined) externalParameters.source = run.source;

  const resolvedDependencies: ResourceDescriptor[] = run.inputs.map((s) => ({
    uri: snapshotUri(s),
    digest: { sha256: digestOf(s.root, `input ${s.id} root`) },
    name: s.id,
  }));
  if (run.codeDigest !== null) {
    resolvedDependencies.push({
      uri: 'cordon:code',
      digest: { sha256: digestOf(run.codeDigest, `run ${run.id} code digest`) },
    });
  }

  return {
    _type: STATEMENT_TYPE,
    subject: [
      {
        name: run.output.dataset,
        digest: { sha256: digestOf(run.output.root, `output ${run.output.id} root`) },
      },
    ],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: buildTypeOf(run.kind),
        externalParameters,
        resolvedDependencies,
      },
      runDetails: {
        builder: { id: options.builderId },
        metadata: {
          invocationId: options.invocationId ?? run.id,
          startedOn: run.startedAt,
          finishedOn: run.finishedAt,
        },
      },
    },
  };
}
