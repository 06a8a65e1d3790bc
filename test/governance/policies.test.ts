import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveSnapshot } from '../../src/engine/governance/approvals.js';
import { configureDataset } from '../../src/engine/governance/identities.js';
import type { SnapshotRow } from '../../src/store/metadata-store.js';
import { textRecords } from '../helpers/workspace.js';
import {
  actAs,
  auditHolds,
  commit,
  commitScanned,
  detailOf,
  events,
  govWorkspace,
  people,
  refused,
  rejectsWith,
  type Gov,
} from './helpers.js';

let gov: Gov;
let row: SnapshotRow;
beforeEach(async () => {
  gov = await govWorkspace();
  await people(gov, 'mail', { bob: ['steward'], carol: ['steward'] });
  row = await commitScanned(gov.root, 'mail', textRecords(30));
});
afterEach(async () => {
  await gov.cleanup();
});

function writePolicy(name: string, text: string): string {
  const dir = join(gov.dir, 'policies');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('user Cedar policies', () => {
  it('a forbid in policies/*.cedar takes effect, and stops when the file goes', async () => {
    const file = writePolicy(
      'x.cedar',
      `@id("bob-on-leave")
@doc("bob is on leave until March")
forbid (principal == Cordon::Human::"bob", action == Cordon::Action::"approve", resource);
`,
    );
    const { event } = await refused(
      gov,
      () => actAs(gov, 'bob', (bob) => approveSnapshot(bob, row)),
      {
        code: 'FORBIDDEN',
        message: /"bob" may not approve .*"bob-on-leave" \(bob is on leave until March\)/,
        event: 'authz.deny',
      },
    );
    expect(detailOf(event)).toMatchObject({ policies: ['bob-on-leave'] });
    expect(await gov.root.meta.gov.listApprovals(row.id)).toEqual([]);

    rmSync(file);
    const ok = await actAs(gov, 'bob', (bob) => approveSnapshot(bob, row));
    expect(ok.promoted).toBe(true);
    await auditHolds(gov);
  });

  it('a user forbid on a dataset attribute applies to every matching request', async () => {
    writePolicy(
      'external.cedar',
      `// Externally sourced data is never written by hand.
forbid (principal, action == Cordon::Action::"ingest", resource)
when { resource.externallySourced };
`,
    );
    await configureDataset(gov.root, 'mail', { externallySourced: true });
    await refused(gov, () => commit(gov.root, 'mail', textRecords(31)), {
      code: 'FORBIDDEN',
      message: /"root" may not ingest .*"policies\/external\.cedar#1"/,
      event: 'authz.deny',
    });
    // Other datasets are unaffected.
    await commit(gov.root, 'news', textRecords(5));
    await auditHolds(gov);
  });

  it('an invalid policy file stops every authorization with POLICY_INVALID', async () => {
    writePolicy(
      'bad.cedar',
      `permit (principal, action == Cordon::Action::"fly", resource);
`,
    );
    const headBefore = (await gov.root.meta.getDataset('mail'))?.head;
    const countBefore = (await events(gov.root, 'snapshot.ingest')).length;
    await rejectsWith(
      commit(gov.root, 'mail', textRecords(31)),
      'POLICY_INVALID',
      /policies\/bad\.cedar[\s\S]*fly/,
    );
    await rejectsWith(
      actAs(gov, 'bob', (bob) => approveSnapshot(bob, row)),
      'POLICY_INVALID',
      /bad\.cedar/,
    );
    expect((await gov.root.meta.getDataset('mail'))?.head).toBe(headBefore);
    expect(await events(gov.root, 'snapshot.ingest')).toHaveLength(countBefore);
    expect(await gov.root.meta.gov.listApprovals(row.id)).toEqual([]);
  });

  it('a syntax error names the file and the line', async () => {
    writePolicy(
      'typo.cedar',
      `\n\nforbid (principal, action, resource) when { principal.name == };\n`,
    );
    await rejectsWith(
      commit(gov.root, 'mail', textRecords(31)),
      'POLICY_INVALID',
      /typo\.cedar:3:/,
    );
  });

  it('refuses a policy that reuses the id of a default policy', async () => {
    writePolicy(
      'dup.cedar',
      `@id("no-self-approval")
permit (principal, action, resource);
`,
    );
    await rejectsWith(
      commit(gov.root, 'mail', textRecords(31)),
      'POLICY_INVALID',
      /duplicate policy id "no-self-approval"/,
    );
  });
});
