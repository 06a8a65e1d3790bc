import { z } from 'zod';
import { CordonError } from '../../core/errors.js';
import { ACTION_RESOURCES, ACTIONS } from '../../engine/authz/actions.js';
import {
  datasetOf,
  decider,
  resourceFacts,
  type ResourceRef,
} from '../../engine/governance/authorize.js';
import { resolveSnapshot } from '../../engine/snapshots.js';
import type { Workspace } from '../../engine/workspace.js';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';

const Check = z.object({
  action: z.enum(ACTIONS),
  dataset: z.string().min(1).max(128).optional(),
  snapshot: z.string().min(1).max(300).optional().describe('Snapshot reference'),
  source: z.string().min(1).max(256).optional(),
  identity: z.string().min(1).max(128).optional(),
});
type Check = z.infer<typeof Check>;

const Body = z.object({ checks: z.array(Check).min(1).max(100) });

const Decision = z.object({
  action: z.enum(ACTIONS),
  allowed: z.boolean(),
  reason: z.string().describe('Why not, in Cedar terms (empty when allowed)'),
});

/**
 * "May I?" without doing: the console asks which of its buttons to show. The answer comes from
 * the same Cedar policies and facts as every change (the engine's `decider`, which `decide`
 * uses), nothing is logged, and the change itself is still authorized when it is asked for. A caller who may not read a dataset learns
 * nothing about it: every check on it is refused the same way, whether the dataset or snapshot
 * exists or not.
 */
export function permissionRoutes(api: RouteList, _deps: ServerDeps): void {
  api.route({
    method: 'post',
    path: '/v1/permissions',
    operationId: 'checkPermissions',
    summary: 'Which of these actions the caller may take (nothing is logged or changed)',
    tags: ['identities'],
    mutates: false,
    body: { json: Body },
    responses: {
      200: {
        description: 'One decision per check, in order',
        json: z.object({ decisions: z.array(Decision) }),
      },
    },
    handler: async ({ ws, body }) => {
      const { checks } = body;
      // The caller's facts and grants are gathered once for the whole batch.
      const ask = await decider(ws);
      const decisions = [];
      for (const check of checks) decisions.push(await decideCheck(ws, ask, check));
      return { json: { decisions } };
    },
  });
}

const HIDDEN = 'not visible to the caller';

type Ask = Awaited<ReturnType<typeof decider>>;

async function decideCheck(
  ws: Workspace,
  ask: Ask,
  check: Check,
): Promise<z.infer<typeof Decision>> {
  const refused = (reason: string) => ({ action: check.action, allowed: false, reason });
  const ref = await resourceOf(ws, check).catch((e: unknown) => {
    if (e instanceof CordonError && /NOT_FOUND$/.test(e.code)) return null;
    throw e;
  });
  if (ref === null) return refused(HIDDEN);
  if (typeof ref === 'string') return refused(ref);
  const dataset = datasetOf(ref);
  if (dataset !== null && check.action !== 'read') {
    const read = ask('read', await resourceFacts(ws, { type: 'Dataset', dataset }, {}));
    if (!read.allowed) return refused(HIDDEN);
  }
  const d = ask(check.action, await resourceFacts(ws, ref, {}));
  return { action: check.action, allowed: d.allowed, reason: d.allowed ? '' : d.reason };
}

/** The resource a check is about, a reason it is malformed, or null when it does not exist. */
async function resourceOf(ws: Workspace, check: Check): Promise<ResourceRef | string | null> {
  const type = ACTION_RESOURCES[check.action][0]!;
  const needs = (field: keyof Check) => `${check.action} needs "${field}"`;
  switch (type) {
    case 'Workspace':
      return check.dataset !== undefined && check.action === 'readAudit'
        ? { type: 'Dataset', dataset: check.dataset }
        : { type: 'Workspace' };
    case 'Identity':
      return { type: 'Identity', name: check.identity ?? ws.identity.name };
    case 'Dataset':
    case 'LabelSet':
      if (check.dataset === undefined) return needs('dataset');
      if (!(await ws.meta.getDataset(check.dataset))) return null;
      return { type, dataset: check.dataset };
    case 'Source':
      if (check.dataset === undefined) return needs('dataset');
      if (check.source === undefined) return needs('source');
      if (!(await ws.meta.getDataset(check.dataset))) return null;
      return { type, dataset: check.dataset, source: check.source };
    case 'Snapshot':
    case 'ChangeRequest': {
      if (check.snapshot === undefined) return needs('snapshot');
      return { type, snapshot: await resolveSnapshot(ws, check.snapshot) };
    }
  }
}
