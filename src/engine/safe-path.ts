import { CordonError } from '../core/errors.js';

/**
 * Checks a relative path taken from data (a record's file path, a manifest line) and returns it
 * normalised with forward slashes. Absolute paths, drive letters, NUL bytes, empty segments and
 * any ".." are refused, so the path cannot leave the folder it is joined to.
 */
export function safeRelativePath(path: unknown, what: string): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new CordonError('PATH_ESCAPES', `${what}: not a path`);
  }
  const p = path.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.includes('\0')) {
    throw new CordonError('PATH_ESCAPES', `${what}: "${path}" is absolute`);
  }
  const parts = p.split('/');
  if (parts.some((s) => s === '..' || s === '' || s === '.')) {
    throw new CordonError(
      'PATH_ESCAPES',
      `${what}: "${path}" leaves its folder or is not normalised`,
    );
  }
  return parts.join('/');
}
