import type { Command } from 'commander';
import { locateWorkspace, openWorkspace, type Workspace } from '../engine/workspace.js';
import type { Io } from './io.js';

export interface GlobalOptions {
  workspace?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Opens the workspace the command should use, runs `fn`, and always closes it. */
export async function withWorkspace<T>(
  cmd: Command,
  io: Io,
  fn: (ws: Workspace) => Promise<T>,
): Promise<T> {
  const ws = await openWorkspace(locateWorkspace(globals(cmd).workspace, io.env, io.cwd));
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
