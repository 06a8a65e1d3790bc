import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Authorizer, type PolicyFile } from '../authz/authorizer.js';

/** Users' own Cedar policies live here, one or more policies per `.cedar` file. */
export const POLICY_DIR = 'policies';

const cache = new Map<string, { stamp: string; authorizer: Authorizer }>();

/** Reads the workspace's policy files (sorted by name). */
export async function readPolicyFiles(wsDir: string): Promise<PolicyFile[]> {
  const dir = join(wsDir, POLICY_DIR);
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.cedar'))
    .sort();
  const files: PolicyFile[] = [];
  for (const name of names) {
    files.push({ file: join(POLICY_DIR, name), text: await readFile(join(dir, name), 'utf8') });
  }
  return files;
}

/**
 * The workspace's authorizer: the shipped schema and default policies plus the user's policy
 * files, validated together. Invalid user policies fail here, naming the file (POLICY_INVALID).
 * Cached per workspace while the files are unchanged.
 */
export async function loadAuthorizer(wsDir: string): Promise<Authorizer> {
  const files = await readPolicyFiles(wsDir);
  const stamp = files.map((f) => `${f.file}\0${f.text}`).join('\0\0');
  const hit = cache.get(wsDir);
  if (hit && hit.stamp === stamp) return hit.authorizer;
  const authorizer = Authorizer.load(files);
  cache.set(wsDir, { stamp, authorizer });
  return authorizer;
}
