import { CordonError, type ErrorCode } from '../core/errors.js';

/**
 * Codes the HTTP edge adds to the engine's own: failures that only exist because there is a
 * network in between (a route that does not exist, a body that is too large or not JSON, too
 * many failed sign-ins, a content type the endpoint does not take).
 */
export type EdgeCode =
  'NOT_FOUND' | 'BODY_MALFORMED' | 'PAYLOAD_TOO_LARGE' | 'RATE_LIMITED' | 'UNSUPPORTED_MEDIA_TYPE';

export type ProblemCode = ErrorCode | EdgeCode;

/** RFC 9457 problem details, as every error response carries them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The CordonError code (or an edge code): what a client should branch on. */
  code: ProblemCode;
  /** Identifies this occurrence; the same id is in the server's log for a 500. */
  instance: string;
  /** For HEAD_CONFLICT and RATE_LIMITED: when and how to try again. */
  retry?: { afterSeconds: number; advice: string };
  /** For request validation failures: each offending field. */
  errors?: { path: string; message: string }[];
}

/**
 * The one table from error code to HTTP status. Every ErrorCode is listed, so adding a code to
 * core/errors.ts without deciding its status is a compile error here.
 */
export const STATUS_OF: Record<ProblemCode, number> = {
  // the caller's request, as sent, cannot be carried out
  USAGE: 400,
  SNAPSHOT_AMBIGUOUS: 400,
  BODY_MALFORMED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  // what the request names does not exist
  NOT_FOUND: 404,
  DATASET_NOT_FOUND: 404,
  SNAPSHOT_NOT_FOUND: 404,
  RECORD_NOT_FOUND: 404,
  OBJECT_NOT_FOUND: 404,
  INPUT_NOT_FOUND: 404,
  // the state of the workspace does not allow it (now)
  HEAD_CONFLICT: 409,
  STATE_INVALID: 409,
  MERGE_CONFLICT: 409,
  WORKSPACE_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // well-formed, but the content does not hold
  INPUT_INVALID: 422,
  PATH_ESCAPES: 422,
  APPROVAL_INVALID: 422,
  VERIFY_FAILED: 422,
  SIGNATURE_INVALID: 422,
  POLICY_INVALID: 422,
  FINDINGS: 422,
  GATE_FAILED: 422,
  QUARANTINED: 423,
  RATE_LIMITED: 429,
  // the server's own set-up is broken: never the caller's fault, never detailed to the caller
  WORKSPACE_NOT_FOUND: 500,
  CONFIG_INVALID: 500,
  KEY_INVALID: 500,
  INTERNAL: 500,
};

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Not authenticated',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Content too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  423: 'Locked',
  429: 'Too many requests',
  500: 'Internal server error',
};

export const PROBLEM_TYPE_BASE = 'https://cordon.dev/problems/';
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** An error raised by the HTTP edge itself, with the headers its response needs. */
export class HttpProblem extends Error {
  constructor(
    readonly code: ProblemCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly extra: Pick<Problem, 'errors' | 'retry'> = {},
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

export interface ProblemResponse {
  status: number;
  body: Problem;
  headers: Record<string, string>;
  /** The error was not one we raise on purpose: log it. */
  unexpected: boolean;
}

const HEAD_CONFLICT_RETRY = {
  afterSeconds: 1,
  advice:
    'another writer moved the dataset head first and nothing was written; read the current head and submit again',
};

/**
 * Converts anything thrown while serving a request into problem details. Known errors keep their
 * message; anything else becomes a 500 whose detail names only the instance to look up in the
 * log, so no stack, path or driver message reaches the caller.
 */
export function toProblem(e: unknown, instance: string): ProblemResponse {
  let code: ProblemCode = 'INTERNAL';
  let detail = 'the server failed to handle this request';
  let headers: Record<string, string> = {};
  let extra: Pick<Problem, 'errors' | 'retry'> = {};
  let unexpected = true;
  if (e instanceof HttpProblem) {
    ({ code, headers, extra } = e);
    detail = e.message;
    unexpected = false;
  } else if (e instanceof CordonError) {
    code = e.code;
    unexpected = STATUS_OF[code] >= 500;
    if (!unexpected) detail = e.message;
    if (code === 'HEAD_CONFLICT') {
      extra = { retry: HEAD_CONFLICT_RETRY };
      headers = { 'Retry-After': String(HEAD_CONFLICT_RETRY.afterSeconds) };
    }
  }
  if (unexpected) detail = `the server failed to handle this request (see ${instance} in its log)`;
  const status = STATUS_OF[code];
  return {
    status,
    headers: { 'Content-Type': PROBLEM_MEDIA_TYPE, ...headers },
    unexpected,
    body: {
      type: PROBLEM_TYPE_BASE + code.toLowerCase().replaceAll('_', '-'),
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      code,
      instance,
      ...extra,
    },
  };
}
