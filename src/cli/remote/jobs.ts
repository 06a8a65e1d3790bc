import { CordonError } from '../../core/errors.js';
import type { JobProgress, JobView } from '../../server/jobs.js';
import { problemError, seg, type RemoteClient } from './client.js';

/**
 * Ingest and scan run on the server as jobs: the request answers at once with the job, whose
 * progress is then followed as Server-Sent Events until it ends.
 */

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
const POLL_MS = 500;

export interface SseEvent {
  event: string;
  data: string;
}

/** The events of a text/event-stream body, as they arrive; comment lines are skipped. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line === '' || line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length) yield { event, data: data.join('\n') };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Follows a job to its end, passing each progress report on, and returns its result. A failed
 * job throws its error as the engine's CordonError. Should the event stream end early (a proxy
 * cutting a long connection), the job is polled instead.
 */
export async function followJob(
  api: RemoteClient,
  job: JobView,
  onProgress: (p: JobProgress) => void,
): Promise<unknown> {
  let last = job;
  if (!ENDED.has(last.state)) {
    const res = await api.request('GET', `/v1/jobs/${seg(job.id)}/events`, {
      headers: { Accept: 'text/event-stream' },
    });
    if (res.body) {
      for await (const e of readEvents(res.body)) {
        if (e.event === 'progress') onProgress(JSON.parse(e.data) as JobProgress);
        else if (e.event === 'state') last = JSON.parse(e.data) as JobView;
        if (ENDED.has(last.state)) break;
      }
    }
  }
  while (!ENDED.has(last.state)) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    last = await api.get<JobView>(`/v1/jobs/${seg(job.id)}`);
  }
  if (last.state === 'succeeded') return last.result;
  if (last.state === 'failed' && last.error) throw problemError(last.error);
  throw new CordonError(
    'INTERNAL',
    `the server's job "${last.description}" was cancelled before it finished; nothing was recorded`,
  );
}
