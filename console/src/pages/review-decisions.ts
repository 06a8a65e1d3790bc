/** What the review page keeps about decisions, without React: easy to test, easy to reason about. */

export type Decision = 'keep' | 'drop' | 'relabel';
export type ItemStatus = 'open' | Decision;

export interface Counts {
  open: number;
  keep: number;
  drop: number;
  relabel: number;
}

export interface DecidedItem {
  id: string;
  status: ItemStatus;
  newLabel: string | null;
}

/**
 * The counts after the server decided `before` items (as they were) into `decision`: each item
 * leaves its old status and joins the new one, so re-deciding a kept item as dropped moves one
 * count, not two.
 */
export function recount(
  counts: Counts,
  before: readonly DecidedItem[],
  decision: Decision,
): Counts {
  const next = { ...counts };
  for (const item of before) {
    next[item.status] = Math.max(0, next[item.status] - 1);
    next[decision] += 1;
  }
  return next;
}

/** The items with the server's answer merged in (by id); the others as they were. */
export function mergeDecided<T extends { id: string }>(
  items: readonly T[],
  decided: readonly T[],
): T[] {
  const byId = new Map(decided.map((d) => [d.id, d]));
  return items.map((i) => byId.get(i.id) ?? i);
}

export const decidedCount = (c: Counts): number => c.keep + c.drop + c.relabel;

/**
 * Where the next page starts. Under the "open" filter, items decided on this page have left the
 * server's list, so the next page starts after only the items still open here; otherwise the page
 * size moves the window as usual.
 */
export function nextOffset(
  offset: number,
  limit: number,
  statusFilter: string,
  items: readonly { status: ItemStatus }[],
): number {
  if (statusFilter !== 'open') return offset + limit;
  return offset + items.filter((i) => i.status === 'open').length;
}

/** Decision ids go to the server in batches no larger than it accepts. */
export function batches<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

/** The words for a status, for the list and the bar. */
export function statusWords(status: ItemStatus, newLabel: string | null): string {
  switch (status) {
    case 'open':
      return 'undecided';
    case 'keep':
      return 'keep';
    case 'drop':
      return 'drop';
    case 'relabel':
      return newLabel ? `relabel → ${newLabel}` : 'relabel';
  }
}
