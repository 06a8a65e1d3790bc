import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Backends } from '../engine/backends.js';
import { openWorkspace, type Workspace } from '../engine/workspace.js';
import { createApp, type AppOptions, type CordonApp } from './app.js';

export interface ServerOptions extends AppOptions {
  workspaceDir: string;
  /** Where the workspace keeps metadata and objects, if not in its folder (PostgreSQL, S3). */
  backends?: Backends;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Time to receive a request's headers (slow-header attacks). Default 30 s. */
  headersTimeoutMs?: number;
  /** Time to receive a whole request, body included: bounds the slowest upload. Default 30 min. */
  requestTimeoutMs?: number;
  /** Idle time of a kept-alive connection. Default 5 s. */
  keepAliveTimeoutMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  app: CordonApp;
  workspace: Workspace;
  /** Stops listening, cancels running jobs, closes connections and the workspace. */
  close(): Promise<void>;
}

/**
 * Opens the workspace once and serves the API over it until `close()`. The workspace is opened
 * as its creator (whose key signs the audit checkpoints); no request ever acts as that identity
 * unless it presents one of its tokens.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const workspace = await openWorkspace(options.workspaceDir, {}, options.backends ?? {});
  const app = createApp(workspace, options);
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve(
        {
          fetch: app.fetch,
          hostname: options.host,
          port: options.port,
          serverOptions: {
            headersTimeout: options.headersTimeoutMs ?? 30_000,
            requestTimeout: options.requestTimeoutMs ?? 30 * 60_000,
            keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
          },
        },
        () => resolve(s),
      ) as Server;
      s.once('error', reject);
    });
  } catch (e) {
    await app.cordon.shutdown();
    await workspace.close();
    throw e;
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    app,
    workspace,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await app.cordon.shutdown();
        // Event streams and downloads still open after the jobs ended are cut.
        const force = setTimeout(() => server.closeAllConnections(), 2_000);
        await stopped;
        clearTimeout(force);
        await workspace.close();
      })()),
  };
}
