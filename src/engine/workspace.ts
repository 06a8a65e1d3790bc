import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { CordonError } from '../core/errors.js';
import {
  generateSigningKey,
  keyIdOf,
  parsePrivateKey,
  parsePublicKey,
  type KeyPairPem,
} from '../core/keys.js';
import type { BlobStore } from '../store/blob-store.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { writeFileAtomic } from './atomic-file.js';
import { checkpointAudit } from './audit.js';
import { engineOf, openBackends, type Backends } from './backends.js';
import type { CredentialFacts } from './authz/authorizer.js';
import { bootstrapAdmin, resolveActor } from './governance/principal.js';

export const WORKSPACE_DIR = '.cordon';
const CONFIG_FILE = 'cordon.json';
export const IDENTITY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

const configSchema = z.object({
  format: z.literal('cordon.workspace/v1'),
  /** The identity that created the workspace; its key signs the audit log's checkpoints. */
  identity: z.string().regex(IDENTITY_PATTERN),
  createdAt: z.string(),
  /** Where metadata and objects live: chosen at init, checked against the environment on open. */
  metadata: z.enum(['sqlite', 'postgres']).default('sqlite'),
  objects: z.enum(['folder', 's3']).default('folder'),
  tokens: z
    .object({
      /** Longest lifetime a service-account token may have. */
      maxLifetimeDays: z.number().int().positive().default(90),
      /** Longest overlap of an old and a new token during rotation. */
      maxOverlapHours: z.number().int().positive().default(168),
    })
    .prefault({}),
});
export type WorkspaceConfig = z.infer<typeof configSchema>;

export interface Identity {
  name: string;
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** How the acting identity proved who it is (a key file or an API token), as Cedar sees it. */
export type Credential = CredentialFacts;

/** An open workspace: metadata, objects, the acting identity and how it authenticated. */
export interface Workspace {
  dir: string;
  config: WorkspaceConfig;
  meta: MetadataStore;
  blobs: BlobStore;
  /** The acting identity: its key signs what it commits, approves and attests. */
  identity: Identity;
  credential: Credential;
  /** Signs an audit checkpoint over every event so far (if any came after the last one). */
  checkpoint(): Promise<void>;
  /**
   * The same workspace acting as someone else (a server authenticates each request this way):
   * shares the open stores; a failed sign-in is an audit event and throws UNAUTHENTICATED.
   */
  as(actAs: ActAs): Promise<Workspace>;
  close(): Promise<void>;
}

/** Who acts: a local identity by its key file, or the holder of an API token. */
export interface ActAs {
  /** A local identity whose private key is in the workspace's keys/ folder. */
  identity?: string;
  /** An API token (from $CORDON_TOKEN or an Authorization header). */
  token?: string;
  /** Who called, for the token's last-used record (e.g. "cordon-cli/0.1 tty"). */
  agent?: string;
  interactive?: boolean;
}

export const keyPath = (dir: string, name: string): string => join(dir, 'keys', `${name}.key`);

/**
 * Creates a workspace in `dir`: cordon.json, cordon.db (SQLite), objects/ and an Ed25519 key for
 * the local identity in keys/ (0600). Refuses a folder that already holds a workspace.
 */
export async function initWorkspace(
  dir: string,
  options: { identity: string; backends?: Backends },
): Promise<Workspace> {
  const backends = options.backends ?? {};
  const root = resolve(dir);
  if (!IDENTITY_PATTERN.test(options.identity)) {
    throw new CordonError(
      'USAGE',
      `identity "${options.identity}" must be letters, digits, . _ @ -`,
    );
  }
  if (existsSync(join(root, CONFIG_FILE))) {
    throw new CordonError('WORKSPACE_EXISTS', `${root} already holds a Cordon workspace`);
  }
  await mkdir(join(root, 'objects'), { recursive: true });
  await mkdir(join(root, 'keys'), { recursive: true, mode: 0o700 });
  const key = await writeIdentityKey(root, options.identity);
  const engines = engineOf(backends);
  const stores = await openBackends(root, engines, backends);
  const createdAt = new Date().toISOString();
  try {
    if ((await stores.meta.listIdentities()).length > 0)
      throw new CordonError(
        'WORKSPACE_EXISTS',
        'the metadata database already holds a workspace; give each workspace its own database or schema',
      );
    await bootstrapAdmin(stores.meta, options.identity, key, createdAt);
  } finally {
    await stores.close();
  }
  const config: WorkspaceConfig = {
    format: 'cordon.workspace/v1',
    identity: options.identity,
    createdAt,
    ...engines,
    tokens: { maxLifetimeDays: 90, maxOverlapHours: 168 },
  };
  // The config file is written last: a folder without it is not a workspace, so a crash during
  // init leaves nothing that could be mistaken for one.
  await writeFileAtomic(join(root, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
  return openWorkspace(root, {}, backends);
}

/** Generates an Ed25519 key for `name` in keys/ (private 0600, public beside it). */
export async function writeIdentityKey(root: string, name: string): Promise<KeyPairPem> {
  const key = generateSigningKey();
  await writeFileAtomic(keyPath(root, name), key.privateKeyPem, 0o600);
  await writeFileAtomic(join(root, 'keys', `${name}.pub`), key.publicKeyPem, 0o644);
  return key;
}

/**
 * Parsed keys by file, while the file is the same one (a server signs in on every request; reading
 * and parsing the PEM each time cost ~8 % of its CPU under load). Key files are replaced by rename,
 * so a new key is a new inode; the file is still stat'ed, and its mode checked, on every load.
 */
const parsedKeys = new Map<string, { stamp: string; identity: Identity }>();

/** Reads a local identity's private key, refusing one that others can read. */
export async function loadIdentityKey(root: string, name: string): Promise<Identity> {
  const file = keyPath(root, name);
  const info = await stat(file).catch((cause: unknown) => {
    throw new CordonError(
      'KEY_INVALID',
      `no signing key for identity "${name}" in this workspace (${file})`,
      { cause },
    );
  });
  const mode = info.mode;
  if ((mode & 0o077) !== 0) {
    throw new CordonError(
      'KEY_INVALID',
      `signing key ${file} is readable by others (mode ${(mode & 0o777).toString(8)}); run chmod 600`,
    );
  }
  const stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
  const known = parsedKeys.get(file);
  if (known?.stamp === stamp && known.identity.name === name) return known.identity;
  const privateKey = parsePrivateKey(await readFile(file, 'utf8'), file);
  const publicKey = createPublicKey(privateKey);
  const identity = { name, keyId: keyIdOf(publicKey), privateKey, publicKey };
  parsedKeys.set(file, { stamp, identity });
  return identity;
}

export async function openWorkspace(
  dir: string,
  actAs: ActAs = {},
  backends: Backends = {},
): Promise<Workspace> {
  const root = resolve(dir);
  const configFile = join(root, CONFIG_FILE);
  let raw: string;
  try {
    raw = await readFile(configFile, 'utf8');
  } catch (cause) {
    throw new CordonError(
      'WORKSPACE_NOT_FOUND',
      `no Cordon workspace at ${root} (run "cordon init")`,
      { cause },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (cause) {
    throw new CordonError('CONFIG_INVALID', `${configFile}: not JSON`, { cause });
  }
  const result = configSchema.safeParse(parsed);
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new CordonError('CONFIG_INVALID', `${configFile}: ${issues}`);
  }
  const config = result.data;
  const logIdentity = await loadIdentityKey(root, config.identity);
  const stores = await openBackends(root, config, backends);
  const { meta, blobs } = stores;
  let acting: { identity: Identity; credential: Credential };
  try {
    await blobs.cleanStaging();
    acting = await resolveActor(root, meta, config, logIdentity, actAs);
  } catch (e) {
    // A failed sign-in is itself an audit event: sign it into the log before giving up.
    await checkpointAudit(meta, logIdentity).catch(() => undefined);
    await stores.close();
    throw e;
  }
  const checkpoint = async (): Promise<void> => {
    await checkpointAudit(meta, logIdentity);
  };
  const view = (
    who: { identity: Identity; credential: Credential },
    owner: boolean,
  ): Workspace => ({
    dir: root,
    config,
    meta,
    blobs,
    identity: who.identity,
    credential: who.credential,
    checkpoint,
    as: async (other: ActAs) => {
      try {
        return view(await resolveActor(root, meta, config, logIdentity, other), false);
      } catch (e) {
        await checkpoint().catch(() => undefined);
        throw e;
      }
    },
    // A view made by `as` shares the stores: closing it only signs the log.
    close: owner
      ? async () => {
          try {
            await checkpoint();
          } finally {
            await stores.close();
          }
        }
      : checkpoint,
  });
  return view(acting, true);
}

/**
 * Finds the workspace to use: an explicit folder, else $CORDON_WORKSPACE, else the nearest
 * `.cordon` folder at or above `cwd`.
 */
export function locateWorkspace(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): string {
  if (explicit) return resolve(cwd, explicit);
  const fromEnv = env['CORDON_WORKSPACE'];
  if (fromEnv) return resolve(cwd, fromEnv);
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, WORKSPACE_DIR, CONFIG_FILE))) return join(dir, WORKSPACE_DIR);
    if (existsSync(join(dir, CONFIG_FILE))) return dir;
    const up = dirname(dir);
    if (up === dir) {
      throw new CordonError(
        'WORKSPACE_NOT_FOUND',
        `no Cordon workspace in ${cwd} or above (run "cordon init", or pass --workspace)`,
      );
    }
    dir = up;
  }
}

/** Trusted public keys: every identity registered in the workspace, by key id. */
export async function trustedKeys(ws: Workspace): Promise<Map<string, KeyObject>> {
  const keys = new Map<string, KeyObject>();
  for (const id of await ws.meta.listIdentities()) {
    keys.set(id.key_id, parsePublicKey(id.public_key, `identity ${id.name}`));
  }
  return keys;
}
