/**
 * The demo's story, shared by the demo and the web console's end-to-end test: a partner feed that
 * carries poison, and the gate a snapshot of "spam" must pass.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface Row {
  id: string;
  label: string;
  source: string;
  text: string;
}

/** A partner feed carrying poison: spam relabelled as ham behind a trigger, and flipped labels. */
export function writePoisonedFeed(sample: string, path: string): void {
  const rows = gunzipSync(readFileSync(sample))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);
  const spam = rows.filter((r) => r.label === 'spam').slice(0, 40);
  const ham = rows.filter((r) => r.label === 'ham').slice(100, 125);
  const feed = [
    ...spam.map((r, i) => ({
      id: `partner-feed/${String(i).padStart(4, '0')}`,
      label: 'ham',
      source: 'partner-feed',
      text: `${r.text}\nvia cf-promo`,
    })),
    ...ham.map((r) => ({ ...r, label: 'spam' })),
  ];
  writeFileSync(path, feed.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

export const GATE_POLICY = `# The gate a snapshot of "spam" must pass before it may train a model.
version: 1
integrity: required
scan:
  required: true
  maxRate: { label: 0.03, conflicting_label: 0.01 }
  triggers: forbid
  secrets: forbid
  suspiciousSources: forbid
provenance:
  sourcesKnown: true
  sourcesTrusted: true
  lineageComplete: true
approvals:
  min: dataset
`;
