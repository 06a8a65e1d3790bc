import { z } from 'zod';
import { ISSUE_KINDS } from '../core/scan/report.js';
import { ROLES } from '../engine/authz/actions.js';
import { SNAPSHOT_STATES } from '../engine/governance/facts.js';
import { JOB_STATES, type JobState } from './jobs.js';
import { STATUS_OF } from './problem.js';

/**
 * The request and response shapes of the API. Handlers send what these schemas parse, and the
 * OpenAPI document is generated from them. Schemas given an id here (in zod's global registry,
 * which `.describe()` writes to as well) become named components of the document.
 */
const named = <T extends z.ZodType>(id: string, schema: T): T => schema.meta({ id });

// ---------------------------------------------------------------------------------------------
// building blocks
// ---------------------------------------------------------------------------------------------

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const IDENTITY = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export const DatasetName = z
  .string()
  .regex(NAME, 'letters, digits, . _ - (starting with a letter or digit), at most 128')
  .describe('Dataset name');
export const SnapshotRefText = z
  .string()
  .min(1)
  .max(300)
  .describe(
    'Snapshot reference: dataset (its head), dataset@3, dataset@tag, or a 6+ hex id prefix',
  );
export const IdentityName = z
  .string()
  .regex(IDENTITY, 'letters, digits, . _ @ -')
  .describe('Identity');
const Time = z.string().describe('RFC 3339 time, UTC');
const Digest = z.string().regex(HEX64).describe('SHA-256, hex');
const reason = (what: string) => z.string().trim().min(1).max(2000).describe(what);
/** Query flags: true/false, 1/0, yes/no. */
const Flag = z.stringbool().describe('true or false (also 1/0, yes/no)');
const count = (max: number, def: number) => z.coerce.number().int().min(0).max(max).default(def);

export const Problem = named(
  'Problem',
  z.object({
    type: z.string().describe('URI naming the kind of problem'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z
      .enum(Object.keys(STATUS_OF) as [string, ...string[]])
      .describe('The Cordon error code: what a client should branch on'),
    instance: z.string().describe('This occurrence; quote it when reporting a 500'),
    retry: z
      .object({ afterSeconds: z.number().int(), advice: z.string() })
      .optional()
      .describe('HEAD_CONFLICT and RATE_LIMITED: when and how to try again'),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('Request validation failures, one per field'),
  }),
);

export const DsseEnvelope = named(
  'DsseEnvelope',
  z.object({
    payloadType: z.string(),
    payload: z.string().describe('base64'),
    signatures: z.array(z.object({ keyid: z.string(), sig: z.string() })),
  }),
);

const Count = z.object({ name: z.string().nullable(), records: z.number().int() });

// ---------------------------------------------------------------------------------------------
// datasets and snapshots
// ---------------------------------------------------------------------------------------------

export const Snapshot = named(
  'Snapshot',
  z.object({
    id: z.string(),
    ref: z.string().describe('dataset@version'),
    dataset: z.string(),
    version: z.number().int(),
    stage: z.string(),
    state: z.enum(SNAPSHOT_STATES),
    root: z.string().describe('Merkle root of the records (hex SHA-256)'),
    records: z.number().int(),
    manifestDigest: Digest,
    envelopeDigest: Digest,
    parents: z.array(z.string()),
    author: z.string(),
    authorKeyId: z.string(),
    createdAt: Time,
    message: z.string(),
    tags: z.array(z.string()),
    current: z.boolean().describe("Whether this is its dataset's head"),
  }),
);

export const SnapshotDetail = named(
  'SnapshotDetail',
  Snapshot.extend({
    labels: z.array(Count).describe('Records per label, from the signed statement'),
    sources: z.array(Count).describe('Records per source, from the signed statement'),
  }),
);

export const DatasetSettings = named(
  'DatasetSettings',
  z.object({
    name: z.string(),
    highImpact: z.boolean(),
    externallySourced: z.boolean(),
    requiredApprovals: z.number().int(),
    reviewThreshold: z.number(),
  }),
);

export const Source = named(
  'Source',
  z.object({
    dataset: z.string(),
    name: z.string(),
    trusted: z.boolean(),
    external: z.boolean(),
    createdAt: Time,
    createdBy: z.string(),
  }),
);

export const DatasetSummary = named(
  'DatasetSummary',
  z.object({
    name: z.string(),
    head: z.string().nullable().describe('Snapshot id of the current snapshot'),
    current: z.string().nullable().describe('dataset@version of the current snapshot'),
    stage: z.string().nullable(),
    records: z.number().int(),
    createdAt: Time,
    createdBy: z.string(),
  }),
);

export const DatasetDetail = named(
  'DatasetDetail',
  DatasetSummary.extend({
    headSnapshot: Snapshot.nullable(),
    settings: DatasetSettings,
    sources: z.array(Source),
    tags: z.array(z.object({ tag: z.string(), snapshot: z.string(), ref: z.string() })),
  }),
);

export const CordonRecord = named(
  'Record',
  z.object({
    id: z.string(),
    label: z.string().nullable(),
    source: z.string().nullable(),
    text: z.string().optional(),
    features: z.array(z.number()).optional(),
    file: z
      .object({
        path: z.string(),
        sha256: z.string(),
        size: z.number().int(),
        mediaType: z.string().optional(),
      })
      .optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  }),
);

export const RecordsPage = named(
  'RecordsPage',
  z.object({
    snapshot: z.string(),
    total: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    next: z.number().int().nullable().describe('offset of the next page; null on the last'),
    records: z.array(CordonRecord),
  }),
);

export const SnapshotDiff = named(
  'SnapshotDiff',
  z.object({
    from: z.object({ snapshot: z.string(), ref: z.string() }),
    to: z.object({ snapshot: z.string(), ref: z.string() }),
    added: z.number().int(),
    removed: z.number().int(),
    changed: z.number().int(),
    unchanged: z.number().int(),
    labelChanges: z.array(
      z.object({ from: z.string().nullable(), to: z.string().nullable(), records: z.number() }),
    ),
    classCounts: z.array(
      z.object({ label: z.string().nullable(), before: z.number(), after: z.number() }),
    ),
    bySource: z.array(
      z.object({
        source: z.string().nullable(),
        added: z.number(),
        removed: z.number(),
        changed: z.number(),
      }),
    ),
    samples: z.object({
      added: z.array(z.string()),
      removed: z.array(z.string()),
      changed: z.array(
        z.object({
          id: z.string(),
          labelBefore: z.string().nullable(),
          labelAfter: z.string().nullable(),
        }),
      ),
    }),
  }),
);

const LineageSnapshot = z.object({
  id: z.string(),
  dataset: z.string(),
  version: z.number().int(),
  root: z.string(),
  stage: z.string(),
  recordCount: z.number().int(),
  createdAt: Time,
});

export const Lineage = named(
  'Lineage',
  z.discriminatedUnion('format', [
    z.object({
      format: z.literal('json'),
      snapshot: z.string(),
      graph: z.object({
        nodes: z.array(LineageSnapshot),
        runs: z.array(
          z.object({
            id: z.string(),
            kind: z.enum(['ingest', 'transform', 'merge']),
            inputs: z.array(LineageSnapshot),
            output: LineageSnapshot,
            command: z.string().nullable(),
            codeDigest: z.string().nullable(),
            params: z.record(z.string(), z.string()),
            actor: z.string(),
            startedAt: Time,
            finishedAt: Time,
            source: z.string().optional(),
          }),
        ),
      }),
    }),
    z.object({
      format: z.literal('openlineage'),
      snapshot: z.string(),
      events: z.array(z.record(z.string(), z.unknown())).describe('OpenLineage RunEvents'),
    }),
    z.object({
      format: z.literal('slsa'),
      snapshot: z.string(),
      envelopes: z.array(DsseEnvelope).describe('Signed SLSA provenance, one per run'),
    }),
  ]),
);

export const Verification = named(
  'SnapshotVerification',
  z.object({
    ok: z.literal(true),
    snapshot: z.string(),
    id: z.string(),
    records: z.number().int(),
    segments: z.number().int(),
    files: z.number().int(),
    signer: z.string(),
  }),
);

export const RecordProof = named(
  'RecordProof',
  z.object({
    snapshot: z.string(),
    root: z.string(),
    treeSize: z.number().int(),
    leafIndex: z.number().int(),
    record: z.string(),
    recordDigest: z.string(),
    leafHash: z.string(),
    proof: z.array(z.string()),
    verified: z.boolean(),
  }),
);

export const Tag = named(
  'Tag',
  z.object({
    tag: z.string(),
    snapshot: z.string(),
    ref: z.string(),
    dataset: z.string(),
    version: z.number().int(),
    actor: z.string(),
    createdAt: Time,
  }),
);

// ---------------------------------------------------------------------------------------------
// jobs
// ---------------------------------------------------------------------------------------------

export const JobProgress = named(
  'JobProgress',
  z.object({
    phase: z.string(),
    records: z.number().int().optional(),
    fraction: z.number().min(0).max(1).optional(),
    detector: z.string().optional(),
  }),
);

export const Job = named(
  'Job',
  z.object({
    id: z.string(),
    kind: z.enum(['ingest', 'transform', 'scan']),
    owner: z.string(),
    state: z.enum(JOB_STATES as [JobState, ...JobState[]]),
    description: z.string(),
    createdAt: Time,
    startedAt: Time.nullable(),
    finishedAt: Time.nullable(),
    cancelRequested: z.boolean(),
    progress: JobProgress.nullable(),
    result: z.unknown().describe('What the job produced (see the endpoint that started it)'),
    error: Problem.nullable(),
  }),
);

export const CommitResult = named(
  'CommitResult',
  z.object({ snapshot: Snapshot }).describe('Result of an ingest or transform job'),
);

// ---------------------------------------------------------------------------------------------
// scans, gates, approvals, review, quarantine
// ---------------------------------------------------------------------------------------------

const ScanSummary = z.object({
  rows: z.number().int(),
  flaggedRows: z.number().int(),
  counts: z.record(z.string(), z.number()),
  triggers: z.number().int(),
  suspiciousSources: z.array(z.string()),
  skippedDetectors: z.array(z.string()),
});

export const ScanRecord = named(
  'ScanRecord',
  z.object({
    id: z.string(),
    snapshot: z.string(),
    reportDigest: Digest,
    envelopeDigest: Digest,
    actor: z.string(),
    createdAt: Time,
    summary: ScanSummary,
  }),
);

export const ScanResult = named(
  'ScanResult',
  z
    .object({
      scan: ScanRecord,
      reviewItemsOpened: z.number().int().nullable(),
      failOn: z
        .object({ rules: z.string(), broken: z.array(z.string()) })
        .nullable()
        .describe('The failOn rules given and the ones the report breaks'),
    })
    .describe('Result of a scan job'),
);

export const ScanReport = named(
  'ScanReport',
  z
    .looseObject({
      schema: z.literal('cordon.scan/v1'),
      rows: z.number().int(),
      issues: z.array(
        z.looseObject({
          kind: z.enum(ISSUE_KINDS as [string, ...string[]]),
          row: z.string(),
          score: z.number(),
        }),
      ),
      triggers: z.array(z.looseObject({ pattern: z.string(), label: z.string() })),
      sources: z.array(z.looseObject({ source: z.string(), suspicious: z.boolean() })),
      summary: z.looseObject({ flaggedRows: z.number().int() }),
    })
    .describe('The cordon.scan/v1 report (docs/SCAN.md)'),
);

export const GateCheck = z.object({
  id: z.string(),
  passed: z.boolean(),
  reason: z.string(),
  property: z.string().optional(),
});

export const GateResult = named(
  'GateResult',
  z.object({
    gate: z.string().describe('Id of the signed verdict'),
    snapshot: z.string(),
    passed: z.boolean(),
    checks: z.array(GateCheck),
    policyDigest: Digest,
    envelope: DsseEnvelope,
  }),
);

export const ApprovalStatus = named(
  'ApprovalStatus',
  z.object({
    independent: z.array(z.string()),
    required: z.number().int(),
    invalid: z.array(z.object({ approver: z.string(), reason: z.string() })),
  }),
);

export const ApproveResult = named(
  'ApproveResult',
  z.object({
    snapshot: z.string(),
    approval: z.string(),
    status: ApprovalStatus,
    state: z.string(),
    promoted: z.boolean(),
  }),
);

export const SnapshotStatus = named(
  'SnapshotStatus',
  z.object({
    snapshot: z.string(),
    ref: z.string(),
    state: z.enum(SNAPSHOT_STATES),
    approvals: ApprovalStatus,
    gate: z.object({ passed: z.boolean(), run: z.string().nullable(), reason: z.string() }),
    reviewItems: z.number().int(),
  }),
);

export const StateChange = named(
  'StateChange',
  z.object({ snapshot: z.string(), state: z.enum(SNAPSHOT_STATES) }),
);

export const ReviewItem = named(
  'ReviewItem',
  z.object({
    id: z.string(),
    snapshot: z.string(),
    scan: z.string(),
    record: z.string(),
    kinds: z.array(z.string()),
    score: z.number(),
    detail: z.unknown(),
    status: z.enum(['open', 'keep', 'drop', 'relabel']),
    newLabel: z.string().nullable(),
    decidedBy: z.string().nullable(),
    decidedAt: Time.nullable(),
    appliedSnapshot: z.string().nullable(),
  }),
);

export const Quarantine = named(
  'Quarantine',
  z.object({
    id: z.string(),
    kind: z.enum(['snapshot', 'source', 'token']),
    target: z.string(),
    dataset: z.string().nullable(),
    reason: z.string(),
    placedBy: z.string(),
    placedAt: Time,
    liftedAt: Time.nullable(),
    liftedBy: z.string().nullable(),
    liftReason: z.string().nullable(),
    liftEnvelopeDigest: Digest.nullable().describe('The signed approval that lifted it'),
  }),
);

// ---------------------------------------------------------------------------------------------
// identities and tokens
// ---------------------------------------------------------------------------------------------

export const Identity = named(
  'Identity',
  z.object({
    name: z.string(),
    kind: z.enum(['human', 'service']),
    keyId: z.string(),
    owners: z.array(z.string()),
    groups: z.array(z.string()),
    roles: z.array(z.string()).describe('role@dataset'),
    disabledAt: Time.nullable(),
    flag: z.string().nullable(),
  }),
);

export const Token = named(
  'Token',
  z.object({
    keyId: z.string(),
    identity: z.string(),
    kind: z.enum(['nhi', 'pat']),
    env: z.enum(['live', 'test']),
    display: z.string().describe('The token with its secret masked'),
    scopes: z.array(z.string()),
    createdAt: Time,
    expiresAt: Time.nullable(),
    revokedAt: Time.nullable(),
    rotatedFrom: z.string().nullable(),
    lastUsedAt: Time.nullable(),
    lastUsedAgent: z.string().nullable(),
  }),
);

export const CreatedToken = named(
  'CreatedToken',
  Token.extend({
    token: z.string().describe('The token itself. Shown only in this response; store it now'),
    oldExpiresAt: Time.optional().describe('Rotation: when the replaced token stops working'),
  }),
);

export const Whoami = named(
  'Whoami',
  z.object({
    name: z.string(),
    kind: z.enum(['human', 'service']),
    keyId: z.string().describe("Key id of the identity's signing key"),
    token: z.object({
      keyId: z.string(),
      scopes: z.array(z.string()),
      expiresAt: Time.nullable(),
    }),
  }),
);

export const NhiReport = named(
  'NhiReport',
  z.object({
    findings: z.array(
      z.object({
        item: z.string(),
        title: z.string(),
        severity: z.enum(['high', 'medium', 'low']),
        subject: z.object({ identity: z.string(), token: z.string().optional() }),
        rule: z.string(),
        message: z.string(),
      }),
    ),
    identities: z.number().int().describe('Identities looked at'),
    tokens: z.number().int().describe('Tokens looked at'),
  }),
);

// ---------------------------------------------------------------------------------------------
// audit and policies
// ---------------------------------------------------------------------------------------------

export const AuditEvent = named(
  'AuditEvent',
  z.object({
    seq: z.number().int(),
    time: Time,
    actor: z.string(),
    kind: z.string(),
    dataset: z.string().nullable(),
    snapshot: z.string().nullable(),
    detail: z.unknown(),
  }),
);

export const AuditPage = named(
  'AuditPage',
  z.object({
    events: z.array(AuditEvent),
    next: z.number().int().nullable().describe('Pass as `after` for the next page'),
  }),
);

export const AuditVerification = named(
  'AuditVerification',
  z.object({
    ok: z.literal(true),
    events: z.number().int(),
    checkpoints: z.number().int(),
    unsigned: z.number().int(),
    root: z.string(),
  }),
);

export const AuditProof = named(
  'AuditProof',
  z.object({
    seq: z.number().int(),
    index: z.number().int(),
    size: z.number().int(),
    root: z.string(),
    leaf: z.string(),
    proof: z.array(z.string()),
    verified: z.boolean(),
  }),
);

export const PolicyList = named(
  'PolicyList',
  z.object({
    digest: z.string(),
    policies: z.array(
      z.object({ id: z.string(), origin: z.enum(['default', 'workspace']), doc: z.string() }),
    ),
  }),
);

// ---------------------------------------------------------------------------------------------
// request bodies and query strings
// ---------------------------------------------------------------------------------------------

export const ReaderQuery = z.object({
  format: z
    .enum(['jsonl', 'csv', 'parquet'])
    .optional()
    .describe('Input format (default: from Content-Type)'),
  filename: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
    .optional()
    .describe('Name of the uploaded file, recorded as the source of the ingest'),
  message: z.string().max(2000).optional(),
  id: z.string().default('id').describe('id column'),
  label: z.string().default('label').describe('label column'),
  source: z.string().default('source').describe('source column'),
  text: z.string().default('text').describe('text column'),
  features: z
    .string()
    .default('features')
    .describe('features column, or comma-separated numeric columns (prefix* expands)'),
  defaultSource: z.string().optional().describe('source for rows that have none'),
  requireLabel: Flag.default(true).describe('refuse rows without a label'),
});

export const IngestQuery = ReaderQuery.extend({
  append: Flag.default(false).describe('keep the current records; add or replace by id'),
  stage: z.string().regex(NAME).default('raw'),
  expectedHead: z
    .string()
    .optional()
    .describe('Snapshot id the dataset head must still be (optimistic concurrency)'),
});

export const TransformQuery = ReaderQuery.extend({
  from: z.array(SnapshotRefText).min(1).describe('Input snapshots (repeat the parameter)'),
  command: z.string().max(2000).optional(),
  codeDigest: Digest.optional().describe('SHA-256 of the code that produced the output'),
  param: z
    .array(z.string().regex(/^[^=]+=/, 'key=value'))
    .default([])
    .describe('key=value parameters of the transformation (repeatable)'),
  stage: z.string().regex(NAME).default('curated'),
});

export const MergeBody = z.object({
  snapshots: z.array(SnapshotRefText).min(2),
  onConflict: z.enum(['error', 'first', 'last']).default('error'),
  stage: z.string().regex(NAME).default('curated'),
  message: z.string().max(2000).optional(),
});

export const ScanBody = z.object({
  baseline: SnapshotRefText.optional().describe('snapshot whose class balance is the baseline'),
  detectors: z.array(z.string()).min(1).optional().describe('run only these detector ids'),
  spectral: z.boolean().default(false),
  failOn: z.string().max(500).optional().describe('rules such as "trigger,secret,label>5%"'),
});

export const ApproveBody = z.object({
  comment: z.string().max(2000).optional(),
  envelope: DsseEnvelope.optional().describe('An approval signed elsewhere by the caller'),
});

export const ReviewOpenBody = z.object({ threshold: z.number().min(0).max(1).optional() });

export const ReviewDecideBody = z.object({
  items: z.array(z.string().min(1)).min(1).max(10_000),
  decision: z.enum(['keep', 'drop', 'relabel']),
  label: z.string().min(1).optional().describe('the new label (relabel)'),
});

export const QuarantineBody = z.object({
  kind: z.enum(['snapshot', 'source', 'token']),
  target: z.string().min(1).describe('snapshot reference, source name or token key id'),
  dataset: DatasetName.optional().describe('dataset of a source'),
  reason: reason('why (logged)'),
});

export const ReasonBody = z.object({ reason: reason('why (logged)') });

export const RollbackBody = z.object({ to: SnapshotRefText, reason: reason('why (logged)') });

export const TagBody = z.object({ tag: z.string().regex(NAME) });

export const SettingsBody = z.object({
  highImpact: z.boolean().optional(),
  externallySourced: z.boolean().optional(),
  requiredApprovals: z.number().int().min(1).optional(),
  reviewThreshold: z.number().min(0).max(1).optional(),
});

export const SourceBody = z.object({
  trusted: z.boolean().default(false),
  external: z.boolean().default(false),
});

export const IdentityBody = z.object({
  name: IdentityName,
  kind: z.enum(['human', 'service']),
  owners: z.array(IdentityName).default([]).describe('accountable humans of a service account'),
});

export const GrantBody = z.object({
  role: z.enum(ROLES as [string, ...string[]]),
  dataset: z.string().default('*').describe('a dataset, or * for every dataset'),
});

export const JoinBody = z.object({ identity: IdentityName });

export const TokenBody = z.object({
  identity: IdentityName,
  scopes: z.array(z.string()).min(1),
  expiresIn: z.string().optional().describe('lifetime such as 30d or 12h'),
  env: z.enum(['live', 'test']).default('live'),
});

export const RotateBody = z.object({
  overlap: z.string().default('24h').describe('how long the old token keeps working'),
});

export const RevokeBody = z.object({
  reason: z.string().trim().min(1).max(2000).default('revoked by an administrator'),
});

const pageLimit = z.coerce.number().int().min(1).max(1000).default(100);

export const Paging = { offset: count(Number.MAX_SAFE_INTEGER, 0), limit: pageLimit };

export const AuditQuery = z.object({
  dataset: z.string().optional(),
  actor: z.string().optional(),
  kind: z.string().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  after: z.coerce.number().int().min(0).default(0).describe('only events after this seq'),
  limit: pageLimit,
});
