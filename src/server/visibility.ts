import type { Action } from '../engine/authz/actions.js';
import type { Grant, ResourceFacts } from '../engine/authz/authorizer.js';
import { datasetGovernance } from '../engine/governance/facts.js';
import { loadAuthorizer } from '../engine/governance/policies.js';
import type { Workspace } from '../engine/workspace.js';

/**
 * Decides which entries of a listing the caller may see, without writing a denial to the audit
 * log for every entry hidden (a dashboard polling the dataset list would otherwise flood it).
 *
 * This asks the same Cedar policies with the same facts as `authorize()` (in
 * engine/governance/authorize.ts) for the few resource types a listing needs, and is used for
 * filtering only: every read of an entry's content, and every change, still goes through
 * `authorize()` itself. When the engine grows a non-logging "may I?" check, this should call it.
 */
export class Visibility {
  private cache = new Map<string, boolean>();

  private constructor(
    private readonly ws: Workspace,
    private readonly ask: (action: Action, resource: ResourceFacts) => boolean,
  ) {}

  static async of(ws: Workspace): Promise<Visibility> {
    const authorizer = await loadAuthorizer(ws.dir);
    const me = await ws.meta.getIdentity(ws.identity.name);
    const grants: Grant[] = (await ws.meta.gov.listGrants()).map((g) => ({
      subject: { type: g.subject_type as Grant['subject']['type'], name: g.subject },
      role: g.role as Grant['role'],
      dataset: g.dataset,
    }));
    const principal = {
      type: me?.kind === 'service' ? ('ServiceAccount' as const) : ('Human' as const),
      name: ws.identity.name,
      // An identity missing from the store sees nothing.
      disabled: !me || me.disabled_at !== null,
      owners: me ? (JSON.parse(me.owners) as string[]) : [],
      groups: await ws.meta.gov.groupsOf(ws.identity.name),
    };
    const now = new Date().toISOString();
    return new Visibility(
      ws,
      (action, resource) =>
        authorizer.authorize({
          principal,
          credential: ws.credential,
          action,
          resource,
          grants,
          now,
        }).allowed,
    );
  }

  /** Whether the caller may read this dataset (the 'read' action). */
  async dataset(name: string, action: Action = 'read'): Promise<boolean> {
    const key = `${action}\0${name}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const g = await datasetGovernance(this.ws, name);
    const allowed = this.ask(action, {
      type: 'Dataset',
      dataset: { name, externallySourced: g.externallySourced, highImpact: g.highImpact },
    });
    this.cache.set(key, allowed);
    return allowed;
  }

  /** Whether the caller may manage this identity's tokens (and so see them). */
  async identityTokens(name: string): Promise<boolean> {
    const key = `tokens\0${name}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const row = await this.ws.meta.getIdentity(name);
    const allowed = this.ask('manageTokens', {
      type: 'Identity',
      identity: {
        name,
        kind: row?.kind === 'service' ? 'service' : 'human',
        owners: row ? (JSON.parse(row.owners) as string[]) : [],
      },
    });
    this.cache.set(key, allowed);
    return allowed;
  }

  /** Whether the caller holds a workspace-wide permission (e.g. readAudit). */
  workspace(action: Action): boolean {
    return this.ask(action, { type: 'Workspace' });
  }
}
