import type { Action } from '../engine/authz/actions.js';
import type { ResourceFacts } from '../engine/authz/authorizer.js';
import { decider, resourceFacts } from '../engine/governance/authorize.js';
import type { Workspace } from '../engine/workspace.js';

/**
 * Decides which entries of a listing the caller may see, without writing a denial to the audit
 * log for every entry hidden (a dashboard polling the dataset list would otherwise flood it).
 *
 * It asks the engine's non-logging check (`decider` and `resourceFacts` in
 * engine/governance/authorize.ts, the facts `authorize()` uses), gathering the caller's side once
 * per listing, and is used for filtering only: every read of an entry's content, and every change,
 * still goes through `authorize()` itself.
 */
export class Visibility {
  private cache = new Map<string, boolean>();

  private constructor(
    private readonly ws: Workspace,
    private readonly ask: (action: Action, resource: ResourceFacts) => boolean,
  ) {}

  static async of(ws: Workspace): Promise<Visibility> {
    // An identity missing from the store sees nothing.
    if (!(await ws.meta.getIdentity(ws.identity.name))) return new Visibility(ws, () => false);
    const ask = await decider(ws);
    return new Visibility(ws, (action, resource) => ask(action, resource).allowed);
  }

  /** Whether the caller may read this dataset (the 'read' action). */
  async dataset(name: string, action: Action = 'read'): Promise<boolean> {
    const key = `${action}\0${name}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const allowed = this.ask(
      action,
      await resourceFacts(this.ws, { type: 'Dataset', dataset: name }, {}),
    );
    this.cache.set(key, allowed);
    return allowed;
  }

  /** Whether the caller may manage this identity's tokens (and so see them). */
  async identityTokens(name: string): Promise<boolean> {
    const key = `tokens\0${name}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const allowed = this.ask(
      'manageTokens',
      await resourceFacts(this.ws, { type: 'Identity', name }, {}),
    );
    this.cache.set(key, allowed);
    return allowed;
  }

  /** Whether the caller holds a workspace-wide permission (e.g. readAudit). */
  workspace(action: Action): boolean {
    return this.ask(action, { type: 'Workspace' });
  }
}
