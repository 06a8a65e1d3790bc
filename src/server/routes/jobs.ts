import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';
import { isFinal, JOB_STATES, type JobEvent, type JobState, type JobView } from '../jobs.js';
import { HttpProblem } from '../problem.js';
import * as S from '../schemas.js';

const IdParam = z.object({ id: z.uuid() });
const KEEP_ALIVE_MS = 15_000;

const JobsQuery = z.object({
  state: z
    .array(z.enum(JOB_STATES as [JobState, ...JobState[]]))
    .optional()
    .describe('only jobs in these states'),
  kind: z
    .array(z.enum(['ingest', 'transform', 'scan']))
    .optional()
    .describe('only jobs of these kinds'),
  active: z
    .stringbool()
    .optional()
    .describe('true: only queued or running jobs; false: only ended ones'),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('at most this many, newest'),
});

/** The jobs (newest first) that the list query asks for. */
export function filterJobs(jobs: JobView[], q: z.output<typeof JobsQuery>): JobView[] {
  const out = jobs.filter(
    (j) =>
      (q.state === undefined || q.state.includes(j.state)) &&
      (q.kind === undefined || q.kind.includes(j.kind)) &&
      (q.active === undefined || q.active === !isFinal(j.state)),
  );
  return q.limit !== undefined ? out.slice(0, q.limit) : out;
}

export function jobRoutes(api: RouteList, deps: ServerDeps): void {
  const find = (id: string, owner: string): JobView => {
    const job = deps.jobs.get(id, owner);
    // Someone else's job is reported exactly like one that does not exist.
    if (!job) throw new HttpProblem('NOT_FOUND', `no job ${id}`);
    return job;
  };

  api.route({
    method: 'get',
    path: '/v1/jobs',
    operationId: 'listJobs',
    summary: "The caller's jobs, newest first (kept in memory for an hour after they end)",
    description:
      'Filters: `state` and `kind` (repeat for several), `active` (true: queued or running only; false: ended only); `limit` keeps the newest.',
    tags: ['jobs'],
    query: JobsQuery,
    responses: { 200: { description: 'Jobs', json: z.object({ jobs: z.array(S.Job) }) } },
    handler: ({ ws, query }) =>
      Promise.resolve({ json: { jobs: filterJobs(deps.jobs.list(ws.identity.name), query) } }),
  });

  api.route({
    method: 'get',
    path: '/v1/jobs/{id}',
    operationId: 'getJob',
    summary: 'A job: state, progress, and its result or error',
    tags: ['jobs'],
    params: IdParam,
    responses: { 200: { description: 'The job', json: S.Job } },
    handler: ({ ws, params }) => Promise.resolve({ json: find(params.id, ws.identity.name) }),
  });

  api.route({
    method: 'delete',
    path: '/v1/jobs/{id}',
    operationId: 'cancelJob',
    summary: 'Cancel a job',
    description:
      'A queued job is cancelled at once. A running job is asked to stop and ends "cancelled" (leaving no snapshot), or "succeeded" if it was already past the point of no return. Follow its events for the outcome.',
    tags: ['jobs'],
    params: IdParam,
    responses: {
      200: { description: 'The job had already ended', json: S.Job },
      202: { description: 'Cancellation requested', json: S.Job },
    },
    handler: ({ ws, params }) => {
      const before = find(params.id, ws.identity.name);
      const job = deps.jobs.cancel(params.id, ws.identity.name) ?? before;
      return Promise.resolve({ status: isFinal(before.state) ? 200 : 202, json: job });
    },
  });

  api.route({
    method: 'get',
    path: '/v1/jobs/{id}/events',
    operationId: 'jobEvents',
    summary: 'Follow a job as Server-Sent Events',
    description:
      'Events: "state" (data: the Job) when it starts and when it ends, "progress" (data: a JobProgress) while it runs, at most ten a second. The stream ends after the final state event; a job that has already ended sends only that. Comment lines keep idle connections open.',
    tags: ['jobs'],
    params: IdParam,
    responses: {
      200: {
        description: 'An event stream',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
    },
    handler: ({ c, ws, params }) => {
      const owner = ws.identity.name;
      find(params.id, owner);
      return Promise.resolve(
        streamSSE(c, async (stream) => {
          const queue: JobEvent[] = [];
          let wake: (() => void) | undefined;
          // Subscribe before looking at the job, so that no event can fall in between.
          const unsubscribe = deps.jobs.subscribe(params.id, (e) => {
            queue.push(e);
            wake?.();
          });
          stream.onAbort(() => wake?.());
          let n = 0;
          const send = (event: string, data: unknown): Promise<void> =>
            stream.writeSSE({ event, data: JSON.stringify(data), id: String(++n) });
          try {
            const now = deps.jobs.get(params.id, owner);
            if (!now || isFinal(now.state)) {
              if (now) await send('state', now);
              return;
            }
            if (now.progress) await send('progress', now.progress);
            while (!stream.aborted) {
              const event = queue.shift();
              if (!event) {
                let timer: NodeJS.Timeout | undefined;
                await new Promise<void>((resolve) => {
                  wake = resolve;
                  timer = setTimeout(resolve, KEEP_ALIVE_MS);
                });
                clearTimeout(timer);
                wake = undefined;
                if (queue.length === 0 && !stream.aborted) await stream.write(': keep-alive\n\n');
                continue;
              }
              if (event.type === 'progress') {
                await send('progress', event.progress);
              } else {
                await send('state', event.job);
                if (isFinal(event.job.state)) break;
              }
            }
          } finally {
            unsubscribe();
          }
        }),
      );
    },
  });
}
