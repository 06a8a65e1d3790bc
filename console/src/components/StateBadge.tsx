const TONE: Record<string, string> = {
  draft: 'neutral',
  scanned: 'info',
  approved: 'good',
  released: 'good',
  quarantined: 'bad',
  passed: 'good',
  failed: 'bad',
  running: 'info',
  queued: 'neutral',
  succeeded: 'good',
  cancelled: 'neutral',
  open: 'warn',
};

/** A state, in words and colour (the words carry the meaning; colour only repeats it). */
export function StateBadge({ state }: { state: string }) {
  return <span className={`badge badge-${TONE[state] ?? 'neutral'}`}>{state}</span>;
}
