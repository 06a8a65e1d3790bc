import type { Command } from 'commander';
import { backendsFromEnv } from '../engine/backends.js';
import { locateWorkspace, openWorkspace, type ActAs, type Workspace } from '../engine/workspace.js';
import type { Io } from './io.js';

export interface GlobalOptions {
  workspace?: string;
  json?: boolean;
  as?: string;
}

/** Who the command acts as: $CORDON_TOKEN if set, else --as, else $CORDON_IDENTITY. */
export function actAs(cmd: Command, io: Io): ActAs {
  const token = io.env['CORDON_TOKEN'];
  const identity = globals(cmd).as ?? io.env['CORDON_IDENTITY'];
  return {
    ...(token ? { token } : identity ? { identity } : {}),
    agent: `cordon-cli/${io.interactive ? 'tty' : 'batch'}`,
    interactive: io.interactive,
  };
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Opens the workspace the command should use, acting as the caller. */
export function openFor(cmd: Command, io: Io): Promise<Workspace> {
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
