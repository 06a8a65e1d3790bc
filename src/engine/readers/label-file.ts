import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { CordonError, InputError } from '../../core/errors.js';

/**
 * Reads a relabelling file: CSV with `id` and `label` columns, or JSONL of `{"id", "label"}`
 * objects. An empty label (or null) removes the label. Every problem names the file, line and
 * field; an id listed twice is an error.
 */
export async function readLabelFile(
  path: string,
  shown = path,
): Promise<Map<string, string | null>> {
  const text = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw new CordonError('INPUT_NOT_FOUND', `cannot read ${shown}`, { cause });
  });
  const out = new Map<string, string | null>();
  const put = (id: unknown, label: unknown, line: number): void => {
    if (typeof id !== 'string' || id === '')
      throw new InputError({ file: shown, line, field: 'id' }, 'needs a non-empty string id');
    if (label !== null && typeof label !== 'string')
      throw new InputError({ file: shown, line, field: 'label' }, 'must be a string or null');
    if (out.has(id))
      throw new InputError({ file: shown, line, field: 'id' }, `record "${id}" is listed twice`);
    out.set(id, label === '' ? null : label);
  };
  if (/\.jsonl?$/i.test(path)) {
    text.split('\n').forEach((raw, i) => {
      if (!raw.trim()) return;
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch (cause) {
        throw new InputError({ file: shown, line: i + 1 }, 'not valid JSON', { cause });
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new InputError(
          { file: shown, line: i + 1 },
          'must be a JSON object with id and label',
        );
      const o = v as Record<string, unknown>;
      put(o['id'], o['label'] ?? null, i + 1);
    });
    return out;
  }
  let rows: Record<string, string>[];
  try {
    rows = parse<Record<string, string>>(text, { columns: true, skip_empty_lines: true });
  } catch (cause) {
    throw new InputError(
      { file: shown },
      `not valid CSV: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
  }
  const first = rows[0];
  if (first && (!('id' in first) || !('label' in first)))
    throw new InputError({ file: shown, line: 1 }, 'the header needs "id" and "label" columns');
  rows.forEach((r, i) => put(r['id'], r['label'] ?? null, i + 2));
  return out;
}
