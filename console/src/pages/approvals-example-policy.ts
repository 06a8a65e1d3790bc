/**
 * The policy the gate form starts from when no gate has run on the dataset yet: every check the
 * gate knows, at settings a training dataset should meet (see examples/gate.yaml for each field).
 */
export const EXAMPLE_GATE_POLICY = `# Gate policy: what a snapshot must show before it may train a model.
version: 1
integrity: required
scan:
  required: true
  maxAgeDays: 7
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

/** A policy name the server accepts (1–200 characters); blank falls back to gate.yaml. */
export function policyName(name: string): string {
  const trimmed = name.trim();
  return trimmed === '' ? 'gate.yaml' : trimmed.slice(0, 200);
}

/** The model name for a release: trimmed, undefined when blank, at most 200 characters. */
export function releaseModel(name: string): string | undefined {
  const trimmed = name.trim();
  return trimmed === '' ? undefined : trimmed.slice(0, 200);
}
