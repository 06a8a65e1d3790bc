import type { Job, JobProgress } from '../api/types.js';

/** What the Jobs page says about a job: where its result is, how far it got. Pure, for tests. */

export const isActive = (job: Pick<Job, 'state'>): boolean =>
  job.state === 'queued' || job.state === 'running';

/** The console route (as path segments) of what a finished job produced, and its label. */
export function resultTarget(job: Pick<Job, 'kind' | 'state' | 'result'>): {
  parts: string[];
  label: string;
} | null {
  if (job.state !== 'succeeded' || typeof job.result !== 'object' || job.result === null)
    return null;
  const r = job.result as Record<string, unknown>;
  if (job.kind === 'scan') {
    const scan = r['scan'] as { id?: unknown; snapshot?: unknown } | undefined;
    if (typeof scan?.id === 'string' && typeof scan.snapshot === 'string')
      return {
        parts: ['snapshots', scan.snapshot, 'scans', scan.id],
        label: `scan report ${scan.id.slice(0, 12)}`,
      };
    return null;
  }
  const snapshot = r['snapshot'] as { ref?: unknown; id?: unknown } | undefined;
  const ref =
    typeof snapshot?.ref === 'string'
      ? snapshot.ref
      : typeof snapshot?.id === 'string'
        ? snapshot.id
        : null;
  return ref ? { parts: ['snapshots', ref], label: `snapshot ${ref}` } : null;
}

/** Progress in words: "scan · detector label-noise · 12,000 records · 40 %". */
export function progressText(p: JobProgress | null | undefined): string {
  if (!p) return 'waiting';
  const parts = [p.phase];
  if (p.detector) parts.push(`detector ${p.detector}`);
  if (p.records !== undefined) parts.push(`${p.records.toLocaleString('en')} records`);
  if (p.fraction !== undefined) parts.push(`${Math.round(p.fraction * 100)} %`);
  return parts.join(' · ');
}

/** The body of POST /v1/snapshots/{ref}/scans from the form's fields (blank ones left out). */
export function scanBody(form: { baseline: string; failOn: string; spectral: boolean }): {
  baseline?: string;
  failOn?: string;
  spectral: boolean;
} {
  return {
    ...(form.baseline.trim() ? { baseline: form.baseline.trim() } : {}),
    ...(form.failOn.trim() ? { failOn: form.failOn.trim() } : {}),
    spectral: form.spectral,
  };
}
