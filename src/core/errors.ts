/**
 * Every failure Cordon reports carries a stable code. Edges (CLI, server) convert the code once
 * into an exit status or an HTTP status; nothing in between inspects messages.
 */
export type ErrorCode =
  | 'INPUT_INVALID' // a file or value a user gave us is malformed
  | 'INPUT_NOT_FOUND'
  | 'PATH_ESCAPES' // a path points outside the folder it must stay in
  | 'CONFIG_INVALID'
  | 'WORKSPACE_NOT_FOUND'
  | 'WORKSPACE_EXISTS'
  | 'DATASET_NOT_FOUND'
  | 'SNAPSHOT_NOT_FOUND'
  | 'SNAPSHOT_AMBIGUOUS'
  | 'RECORD_NOT_FOUND'
  | 'OBJECT_NOT_FOUND'
  | 'HEAD_CONFLICT' // someone else moved the dataset head first
  | 'MERGE_CONFLICT'
  | 'VERIFY_FAILED' // integrity or signature check failed: fail closed
  | 'FINDINGS' // a scan ran and its findings break the caller's --fail-on rules
  | 'KEY_INVALID'
  | 'SIGNATURE_INVALID'
  | 'UNAUTHENTICATED' // no valid credential: unknown, malformed, expired, revoked or quarantined
  | 'FORBIDDEN' // authenticated, but the authorization policies deny the action
  | 'POLICY_INVALID' // a Cedar policy or a gate policy failed to parse or validate
  | 'GATE_FAILED' // a snapshot has not passed the gate an operation requires
  | 'QUARANTINED' // the snapshot, source or token is quarantined
  | 'APPROVAL_INVALID' // an approval's signature, subject or signer does not hold
  | 'STATE_INVALID' // the snapshot is not in a state that allows the operation
  | 'USAGE'
  | 'INTERNAL';

export class CordonError extends Error {
  readonly code: ErrorCode;
  override readonly cause: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message);
    this.name = 'CordonError';
    this.code = code;
    this.cause = options.cause;
  }
}

/** Where in a user's input a problem sits. Every field is optional; whatever is known is named. */
export interface InputLocation {
  file?: string;
  /** 1-based line number in a text file. */
  line?: number;
  /** 0-based row index in a tabular file (Parquet) or a data row count (CSV). */
  row?: number;
  field?: string;
}

export function formatLocation(loc: InputLocation): string {
  const parts: string[] = [];
  if (loc.file !== undefined) parts.push(loc.file);
  if (loc.line !== undefined) parts.push(`line ${loc.line}`);
  if (loc.row !== undefined) parts.push(`row ${loc.row}`);
  if (loc.field !== undefined) parts.push(`field "${loc.field}"`);
  return parts.join(', ');
}

/** Bad input: the message always starts with where the problem is. */
export class InputError extends CordonError {
  readonly location: InputLocation;

  constructor(location: InputLocation, problem: string, options: { cause?: unknown } = {}) {
    const where = formatLocation(location);
    super('INPUT_INVALID', where ? `${where}: ${problem}` : problem, options);
    this.name = 'InputError';
    this.location = location;
  }
}

/** An integrity check failed. `subject` names the first bad thing (record id, file, object). */
export class VerifyError extends CordonError {
  readonly subject: string;

  constructor(subject: string, problem: string, options: { cause?: unknown } = {}) {
    super('VERIFY_FAILED', `${subject}: ${problem}`, options);
    this.name = 'VerifyError';
    this.subject = subject;
  }
}

export function isCordonError(e: unknown): e is CordonError {
  return e instanceof CordonError;
}
