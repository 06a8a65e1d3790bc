import type { Command } from 'commander';
import { DEFAULT_COLUMNS, type ColumnMap, type InputFormat } from '../engine/readers/reader.js';

/** The input options every command that reads a file shares. */
export interface ColumnFlags {
  format?: InputFormat;
  id: string;
  label: string;
  source: string;
  text: string;
  features: string;
}

export function columnOptions(cmd: Command): Command {
  return cmd
    .option('--format <format>', 'jsonl, csv, parquet or folder (default: from the extension)')
    .option('--id <col>', 'id column', DEFAULT_COLUMNS.id)
    .option('--label <col>', 'label column', DEFAULT_COLUMNS.label)
    .option('--source <col>', 'source column', DEFAULT_COLUMNS.source)
    .option('--text <col>', 'text column', DEFAULT_COLUMNS.text)
    .option(
      '--features <cols>',
      'features column, or a comma-separated list of numeric columns (prefix* expands)',
      'features',
    );
}

/** `--features a,b` or `--features 'px*'` name numeric columns; a single name is one array column. */
export function toColumnMap(f: ColumnFlags): ColumnMap {
  const features =
    f.features.includes(',') || f.features.endsWith('*')
      ? f.features.split(',').map((s) => s.trim())
      : f.features;
  return { id: f.id, label: f.label, source: f.source, text: f.text, features };
}
