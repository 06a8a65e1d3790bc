import { z } from 'zod';
import { CordonError } from './errors.js';
import { STATEMENT_TYPE, type Statement } from './statement.js';

/**
 * An approval is an in-toto statement whose subject is the exact snapshot root a human reviewed,
 * signed (DSSE) with that human's key. A changed snapshot has a different root, so an approval
 * never carries over to it. Shaped after the proposed in-toto human-review predicate.
 */
export const APPROVAL_PREDICATE = 'https://cordon.dev/attestation/approval/v1';

const predicateSchema = z.strictObject({
  result: z.enum(['pass', 'fail']),
  reviewer: z.strictObject({ identity: z.string().min(1), keyId: z.string().min(1) }),
  snapshot: z.string().regex(/^[0-9a-f]{64}$/),
  dataset: z.string().min(1),
  version: z.number().int().positive(),
  /** What is approved: promotion of the snapshot, or lifting a quarantine. */
  purpose: z.enum(['promote', 'lift-quarantine']),
  quarantine: z.string().optional(),
  timestamp: z.string().min(1),
  comment: z.string(),
});
export type ApprovalPredicate = z.infer<typeof predicateSchema>;

export function approvalStatement(
  root: string,
  predicate: ApprovalPredicate,
): Statement<ApprovalPredicate> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: predicate.snapshot, digest: { sha256: root } }],
    predicateType: APPROVAL_PREDICATE,
    predicate,
  };
}

/** Validates an approval statement's shape and returns its subject root and predicate. */
export function parseApproval(statement: Statement<unknown>): {
  root: string;
  subjectName: string;
  predicate: ApprovalPredicate;
} {
  if (statement.predicateType !== APPROVAL_PREDICATE)
    throw new CordonError(
      'APPROVAL_INVALID',
      `predicateType is "${statement.predicateType}", expected ${APPROVAL_PREDICATE}`,
    );
  if (statement.subject.length !== 1)
    throw new CordonError('APPROVAL_INVALID', 'an approval names exactly one subject');
  const subject = statement.subject[0]!;
  const root = subject.digest['sha256'];
  if (typeof root !== 'string' || !/^[0-9a-f]{64}$/.test(root))
    throw new CordonError('APPROVAL_INVALID', 'approval subject has no sha256 digest');
  const parsed = predicateSchema.safeParse(statement.predicate);
  if (!parsed.success)
    throw new CordonError(
      'APPROVAL_INVALID',
      `approval predicate: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return { root, subjectName: subject.name, predicate: parsed.data };
}
