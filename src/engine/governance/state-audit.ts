import { grantKey, replayGovernance } from '../../core/governance-replay.js';
import type { MetadataStore } from '../../store/metadata-store.js';

const MAX_PROBLEMS = 20;

/**
 * Compares the governance tables with the state the audit log's events vouch for. Returns one
 * sentence per difference (at most 20): a row nobody's event created, a field changed since, or a
 * row an event created that is gone. Empty when they agree.
 */
export async function checkGovernanceState(meta: MetadataStore): Promise<string[]> {
  const want = replayGovernance(await meta.listEventsFrom(0));
  const problems: string[] = [];
  const report = (p: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

  const identities = await meta.listIdentities();
  for (const row of identities) {
    const w = want.identities.get(row.name);
    if (!w) {
      report(`identity "${row.name}" exists but no event added it`);
      continue;
    }
    const owners = (JSON.parse(row.owners) as string[]).sort();
    if (w.kind !== row.kind || w.keyId !== row.key_id || !same(w.owners, owners))
      report(`identity "${row.name}": kind, key or owners differ from when it was added`);
    if (w.disabled !== (row.disabled_at !== null))
      report(
        `identity "${row.name}" is ${row.disabled_at ? 'disabled' : 'enabled'} but the log says otherwise`,
      );
  }
  for (const name of want.identities.keys())
    if (!identities.some((r) => r.name === name)) report(`identity "${name}" was deleted`);

  const grants = new Set(
    (await meta.gov.listGrants()).map((g) =>
      grantKey(g.subject_type, g.subject, g.role, g.dataset),
    ),
  );
  for (const g of grants)
    if (!want.grants.has(g)) report(`grant ${describeGrant(g)} exists but no event granted it`);
  for (const g of want.grants) if (!grants.has(g)) report(`grant ${describeGrant(g)} was deleted`);

  const tokens = await meta.gov.listTokens();
  for (const t of tokens) {
    const w = want.tokens.get(t.key_id);
    if (!w) {
      report(`token ${t.key_id} exists but no event created it`);
      continue;
    }
    const scopes = (JSON.parse(t.scopes) as string[]).sort();
    if (
      w.identity !== t.identity ||
      w.kind !== t.kind ||
      w.env !== t.env ||
      w.hash !== t.hash ||
      !same(w.scopes, scopes) ||
      w.expiresAt !== t.expires_at
    )
      report(`token ${t.key_id}: identity, hash, scopes or expiry differ from the log`);
    if (w.revoked !== (t.revoked_at !== null))
      report(
        `token ${t.key_id} is ${t.revoked_at ? 'revoked' : 'live'} but the log says otherwise`,
      );
  }
  for (const k of want.tokens.keys())
    if (!tokens.some((t) => t.key_id === k)) report(`token ${k} was deleted`);

  const rows = await meta.gov.governanceRows();
  const members = new Set(rows.members.map((m) => `${m.group_name}\0${m.member}`));
  for (const m of members)
    if (!want.members.has(m)) report(`group membership ${m.replace('\0', ' ∋ ')} has no event`);
  for (const m of want.members)
    if (!members.has(m)) report(`group membership ${m.replace('\0', ' ∋ ')} was deleted`);

  for (const r of rows.settings) {
    const w = want.settings.get(r.dataset);
    if (
      !w ||
      w.highImpact !== r.high_impact ||
      w.external !== r.externally_sourced ||
      w.approvals !== r.required_approvals ||
      w.threshold !== r.review_threshold
    )
      report(`settings of dataset "${r.dataset}" differ from the last dataset.configure event`);
  }
  for (const d of want.settings.keys())
    if (!rows.settings.some((r) => r.dataset === d))
      report(`settings of dataset "${d}" were deleted`);

  for (const r of rows.sources) {
    const w = want.sources.get(`${r.dataset}\0${r.name}`);
    if (!w || w.trusted !== r.trusted || w.external !== r.external)
      report(`source "${r.name}" of "${r.dataset}": trust or origin differ from the log`);
  }
  for (const k of want.sources.keys())
    if (!rows.sources.some((r) => `${r.dataset}\0${r.name}` === k))
      report(`source ${k.replace('\0', '/')} was deleted`);

  for (const a of rows.approvals)
    if (!want.approvals.has(a.id))
      report(`approval ${a.id.slice(0, 12)} has no snapshot.approve event`);
  for (const id of want.approvals)
    if (!rows.approvals.some((a) => a.id === id)) report(`approval ${id.slice(0, 12)} was deleted`);

  for (const g of rows.gateRuns) {
    const w = want.gateRuns.get(g.id);
    if (w === undefined) report(`gate run ${g.id.slice(0, 12)} has no snapshot.gate event`);
    else if (w !== (g.passed === 1))
      report(`gate run ${g.id.slice(0, 12)}: result differs from the log`);
  }
  for (const id of want.gateRuns.keys())
    if (!rows.gateRuns.some((g) => g.id === id)) report(`gate run ${id.slice(0, 12)} was deleted`);

  const quarantines = await meta.gov.listQuarantines();
  for (const q of quarantines) {
    const w = want.quarantines.get(q.id);
    if (!w || w.kind !== q.kind || w.target !== q.target)
      report(`quarantine ${q.id} differs from its quarantine.place event`);
    else if (w.lifted !== (q.lifted_at !== null))
      report(
        `quarantine ${q.id} is ${q.lifted_at ? 'lifted' : 'active'} but the log says otherwise`,
      );
  }
  for (const id of want.quarantines.keys())
    if (!quarantines.some((q) => q.id === id)) report(`quarantine ${id} was deleted`);

  const states = new Map(rows.states.map((r) => [r.snapshot_id, r.state]));
  for (const [id, state] of states)
    if ((want.states.get(id) ?? 'draft') !== state)
      report(
        `snapshot ${id.slice(0, 12)} is "${state}" but the log says "${want.states.get(id) ?? 'draft'}"`,
      );
  for (const [id, state] of want.states)
    if (!states.has(id) && state !== 'draft')
      report(`state of snapshot ${id.slice(0, 12)} was deleted`);

  for (const d of await meta.listDatasets()) {
    const w = want.heads.get(d.name);
    if (w !== (d.head ?? undefined))
      report(
        `dataset "${d.name}" points at ${d.head?.slice(0, 12) ?? 'nothing'}, but the log last moved it to ${w?.slice(0, 12) ?? 'nothing'}`,
      );
  }

  const tags = new Set((await meta.listTags()).map((t) => `${t.snapshot_id}\0${t.tag}`));
  for (const t of tags)
    if (!want.tags.has(t)) report(`tag "${t.split('\0')[1]}" has no snapshot.tag event`);
  for (const t of want.tags) if (!tags.has(t)) report(`tag "${t.split('\0')[1]}" was deleted`);
  return problems;
}

function describeGrant(key: string): string {
  const [type, subject, role, dataset] = key.split('\0');
  return `${role ?? '?'}@${dataset ?? '?'} to ${type ?? '?'} ${subject ?? '?'}`;
}
