/** Short forms for tables: times in the viewer's zone, big counts with separators, ids cut. */
export const n = (x: number | null | undefined): string => (x == null ? '–' : x.toLocaleString());

export const pct = (x: number | null | undefined, digits = 1): string =>
  x == null ? '–' : `${(x * 100).toFixed(digits)} %`;

export const when = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '–';

export const short = (id: string, length = 12): string =>
  id.length > length ? id.slice(0, length) : id;
