/**
 * The gate verdict as an in-toto statement with the Simple Verification Result predicate
 * (https://in-toto.io/attestation/svr/v0.1). SVR v0.1 defines three predicate fields:
 *
 *   verifier.id   URI of the verifier (versioned when its logic changes)
 *   timeCreated   when the verification ran
 *   properties    the properties that were verified: only passing ones
 *
 * It has no field for the policy or the inputs. The spec's own example puts the policy, as a
 * resource descriptor, under `verifier.policy` as an extension field, and the in-toto parsing
 * rules let producers add extension fields to any object (consumers ignore what they do not know),
 * provided they never change the meaning of the standard fields. So:
 *
 *   verifier.policy   { uri, digest: { sha256 } } of the gate policy file
 *   cordon            Cordon's extension: the snapshot id, the overall result, every check with
 *                     its reason (failures included), and the inputs (the scan record, by digest)
 *
 * `properties` stays monotonic: it lists only what passed, so a consumer that ignores `cordon`
 * can never read a failure as a pass.
 */
import { z } from 'zod';
import { CordonError } from '../errors.js';
import { isDigest, type Digest } from '../hashing.js';
import { STATEMENT_TYPE, type Statement } from '../statement.js';
import { gateProperties, type GateCheck, type GateVerdict } from './evaluate-gate.js';

export const SVR_PREDICATE = 'https://in-toto.io/attestation/svr/v0.1';

/** An in-toto ResourceDescriptor, reduced to the fields Cordon fills in. */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest: { sha256: Digest };
}

/** Cordon's extension field on the SVR predicate. */
export interface CordonVerdictDetails {
  /** The snapshot id (also the subject's name). */
  snapshot: string;
  passed: boolean;
  checks: GateCheck[];
  /** What the verdict relied on besides the snapshot: the scan record, named "scan". */
  inputs: ResourceDescriptor[];
}

export interface SvrPredicate {
  verifier: { id: string; policy: ResourceDescriptor };
  timeCreated: string;
  properties: string[];
  cordon: CordonVerdictDetails;
}

export interface ParsedGateVerdict {
  passed: boolean;
  checks: GateCheck[];
  snapshotId: string;
  root: Digest;
  verifierId: string;
  timeCreated: string;
  policy: { uri: string; digest: Digest } | null;
  scanId: Digest | null;
}

/** Accepts a bare hex SHA-256 or one written "sha256:<hex>". */
function bareDigest(d: string, what: string): Digest {
  const hex = d.startsWith('sha256:') ? d.slice('sha256:'.length) : d;
  if (!isDigest(hex)) throw new CordonError('INTERNAL', `${what} is not a SHA-256 digest: ${d}`);
  return hex;
}

export function gateVerdictStatement(args: {
  snapshotId: string;
  root: string;
  verifierId: string;
  policy: { uri: string; digest: string };
  timeCreated: string;
  verdict: GateVerdict;
  scanId?: string;
}): Statement<SvrPredicate> {
  const root = bareDigest(args.root, 'snapshot root');
  const inputs: ResourceDescriptor[] =
    args.scanId === undefined
      ? []
      : [{ name: 'scan', digest: { sha256: bareDigest(args.scanId, 'scan id') } }];
  const statement: Statement<SvrPredicate> = {
    _type: STATEMENT_TYPE,
    subject: [{ name: args.snapshotId, digest: { sha256: root } }],
    predicateType: SVR_PREDICATE,
    predicate: {
      verifier: {
        id: args.verifierId,
        policy: {
          uri: args.policy.uri,
          digest: { sha256: bareDigest(args.policy.digest, 'policy digest') },
        },
      },
      timeCreated: args.timeCreated,
      properties: gateProperties(args.verdict),
      cordon: {
        snapshot: args.snapshotId,
        passed: args.verdict.passed,
        checks: args.verdict.checks.map(copyCheck),
        inputs,
      },
    },
  };
  // Never sign what we could not read back.
  const r = VERDICT_STATEMENT.safeParse(statement);
  const problems = r.success ? consistencyProblems(r.data) : issueList(r.error);
  if (problems.length)
    throw new CordonError('INTERNAL', `cannot build the gate verdict: ${problems.join('; ')}`);
  return statement;
}

function copyCheck(c: {
  id: string;
  passed: boolean;
  reason: string;
  property?: string | undefined;
}): GateCheck {
  return c.property === undefined
    ? { id: c.id, passed: c.passed, reason: c.reason }
    : { id: c.id, passed: c.passed, reason: c.reason, property: c.property };
}

const digestSchema = z.string().refine(isDigest, 'expected a lower-case hex SHA-256');

const resourceSchema = z.object({
  name: z.string().optional(),
  uri: z.string().optional(),
  digest: z.object({ sha256: digestSchema }),
});

const checkSchema = z.object({
  id: z.string().min(1),
  passed: z.boolean(),
  reason: z.string(),
  property: z.string().min(1).optional(),
});

// Objects are not strict: in-toto consumers must ignore fields they do not recognise.
const VERDICT_STATEMENT = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z
    .array(z.object({ name: z.string().min(1), digest: z.object({ sha256: digestSchema }) }))
    .length(1),
  predicateType: z.literal(SVR_PREDICATE),
  predicate: z.object({
    verifier: z.object({ id: z.string().min(1), policy: resourceSchema.optional() }),
    timeCreated: z.iso.datetime({ offset: true }),
    properties: z.array(z.string()),
    cordon: z.object({
      snapshot: z.string().min(1),
      passed: z.boolean(),
      checks: z.array(checkSchema).min(1),
      inputs: z.array(resourceSchema).default([]),
    }),
  }),
});

type VerdictStatement = z.output<typeof VERDICT_STATEMENT>;

function issueList(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(statement)'}: ${i.message}`);
}

/** What makes a well-formed statement self-contradictory. Empty when it holds together. */
function consistencyProblems(s: VerdictStatement): string[] {
  const p = s.predicate;
  const c = p.cordon;
  const out: string[] = [];
  const subject = s.subject[0];
  if (subject !== undefined && c.snapshot !== subject.name)
    out.push(`cordon.snapshot ${c.snapshot} is not the subject ${subject.name}`);
  const allPassed = c.checks.every((k) => k.passed);
  if (c.passed !== allPassed)
    out.push(
      `cordon.passed is ${c.passed} but ${allPassed ? 'every check passed' : 'a check failed'}`,
    );
  for (const k of c.checks)
    if (!k.passed && k.property !== undefined)
      out.push(`failing check ${k.id} asserts ${k.property}`);
  const expected = gateProperties({ passed: c.passed, checks: c.checks.map(copyCheck) });
  const actual = [...new Set(p.properties)].sort();
  if (expected.join(',') !== actual.join(','))
    out.push(`properties [${actual.join(', ')}] do not match the checks [${expected.join(', ')}]`);
  return out;
}

/**
 * Reads a gate verdict back from a statement (already authenticated by its envelope). Throws
 * CordonError VERIFY_FAILED when it is not a well-formed Cordon SVR or contradicts itself.
 */
export function parseGateVerdict(statement: Statement<unknown>): ParsedGateVerdict {
  const r = VERDICT_STATEMENT.safeParse(statement);
  if (!r.success) {
    const issues = issueList(r.error);
    throw new CordonError('VERIFY_FAILED', `gate verdict is malformed: ${issues.join('; ')}`, {
      cause: r.error,
    });
  }
  const s = r.data;
  const problems = consistencyProblems(s);
  if (problems.length)
    throw new CordonError('VERIFY_FAILED', `gate verdict is inconsistent: ${problems.join('; ')}`);
  const subject = s.subject[0]!;
  const policy = s.predicate.verifier.policy;
  const scan = s.predicate.cordon.inputs.find((i) => i.name === 'scan');
  return {
    passed: s.predicate.cordon.passed,
    checks: s.predicate.cordon.checks.map(copyCheck),
    snapshotId: subject.name,
    root: subject.digest.sha256,
    verifierId: s.predicate.verifier.id,
    timeCreated: s.predicate.timeCreated,
    policy: policy?.uri === undefined ? null : { uri: policy.uri, digest: policy.digest.sha256 },
    scanId: scan?.digest.sha256 ?? null,
  };
}
