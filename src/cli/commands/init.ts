import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { backendsFromEnv } from '../../engine/backends.js';
import { WORKSPACE_DIR, initWorkspace } from '../../engine/workspace.js';
import { globals, printJson } from '../context.js';
import type { Io } from '../io.js';

export function registerInit(program: Command, io: Io): void {
  program
    .command('init [dir]')
    .description(
      `create a workspace (default ./${WORKSPACE_DIR}): SQLite metadata, object folder, signing key`,
    )
    .option('--identity <name>', 'name of the local signing identity', safeUser())
    .action(async (dir: string | undefined, opts: { identity: string }, cmd: Command) => {
      const ws = await initWorkspace(resolve(io.cwd, dir ?? WORKSPACE_DIR), {
        identity: opts.identity,
        backends: backendsFromEnv(io.env),
      });
      try {
        const out = { workspace: ws.dir, identity: ws.identity.name, keyId: ws.identity.keyId };
        if (globals(cmd).json) printJson(io, out);
        else
          io.stdout(
            `Initialised workspace ${ws.dir}\nidentity ${out.identity} (key ${out.keyId}, private key mode 0600)\n`,
          );
      } finally {
        await ws.close();
      }
    });
}

function safeUser(): string {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9._@-]/g, '') || 'local';
  } catch {
    return 'local';
  }
}
