import type { Command } from 'commander';
import { CordonError } from '../core/errors.js';
import { backendsFromEnv } from '../engine/backends.js';
import { locateWorkspace, openWorkspace, type ActAs, type Workspace } from '../engine/workspace.js';
import type { Io } from './io.js';
import { RemoteClient } from './remote/client.js';

export interface GlobalOptions {
  workspace?: string;
  json?: boolean;
  as?: string;
  server?: string;
}

/** How the CLI names itself to the audit trail: whether a person at a terminal ran it. */
const agentOf = (io: Io): string => `cordon-cli/${io.interactive ? 'tty' : 'batch'}`;

/** Who the command acts as: $CORDON_TOKEN if set, else --as, else $CORDON_IDENTITY. */
export function actAs(cmd: Command, io: Io): ActAs {
  const token = io.env['CORDON_TOKEN'];
  const identity = globals(cmd).as ?? io.env['CORDON_IDENTITY'];
  return {
    ...(token ? { token } : identity ? { identity } : {}),
    agent: agentOf(io),
    interactive: io.interactive,
  };
}

/** The command as typed, sub-commands included: "review list". */
export function commandName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * The server the command should talk to, if any: --server, else $CORDON_SERVER unless -w names
 * a local workspace (a flag beats the environment).
 */
export function serverOf(cmd: Command, io: Io): string | undefined {
  const g = globals(cmd);
  if (g.server !== undefined && g.workspace !== undefined)
    throw new CordonError('USAGE', '--server and --workspace cannot be used together');
  const url = g.server ?? (g.workspace === undefined ? io.env['CORDON_SERVER'] : undefined);
  return url || undefined;
}

/**
 * A client of the server the command should talk to, or undefined to work on a local
 * workspace. Against a server, $CORDON_TOKEN says who the caller is.
 */
export function remoteFor(cmd: Command, io: Io): RemoteClient | undefined {
  const server = serverOf(cmd, io);
  if (server === undefined) return undefined;
  if (globals(cmd).as !== undefined)
    throw new CordonError(
      'USAGE',
      '--as picks a local identity; against a server, the token in $CORDON_TOKEN says who you are',
    );
  const token = io.env['CORDON_TOKEN'];
  if (!token)
    throw new CordonError(
      'UNAUTHENTICATED',
      `set $CORDON_TOKEN to a Cordon API token (cordon token create) to use the server at ${server}`,
    );
  return new RemoteClient(server, token, agentOf(io));
}

/**
 * Gets what a command shows: from the server when one is set, else from the local workspace
 * (opened for `local` and closed after it).
 */
export async function fromWorkspaceOrServer<T>(
  cmd: Command,
  io: Io,
  ways: { local: (ws: Workspace) => Promise<T>; remote: (api: RemoteClient) => Promise<T> },
): Promise<T> {
  const api = remoteFor(cmd, io);
  return api ? ways.remote(api) : withWorkspace(cmd, io, ways.local);
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/**
 * Opens the workspace the command should use, acting as the caller. A command that reaches here
 * with a server set has no remote form: it says so rather than quietly using a local workspace.
 */
export function openFor(cmd: Command, io: Io): Promise<Workspace> {
  if (serverOf(cmd, io) !== undefined)
    throw new CordonError(
      'USAGE',
      `cordon ${commandName(cmd)} cannot run against a server; run it on a local workspace, without --server or $CORDON_SERVER`,
    );
  return openWorkspace(
    locateWorkspace(globals(cmd).workspace, io.env, io.cwd),
    actAs(cmd, io),
    backendsFromEnv(io.env),
  );
}

/** Opens the workspace the command should use, runs `fn`, and always closes it. */
export async function withWorkspace<T>(
  cmd: Command,
  io: Io,
  fn: (ws: Workspace) => Promise<T>,
): Promise<T> {
  const ws = await openFor(cmd, io);
  try {
    return await fn(ws);
  } finally {
    await ws.close();
  }
}

export function printJson(io: Io, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n');
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
