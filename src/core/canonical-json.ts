import { CordonError } from './errors.js';

/** A JSON value as Cordon stores it: no undefined, no non-finite numbers. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * RFC 8785 (JSON Canonicalization Scheme) for the values Cordon stores: object keys sorted by
 * UTF-16 code units, no insignificant white space, ECMAScript number formatting, JSON.stringify
 * string escaping. Lone surrogates are rejected (they have no UTF-8 form), as are non-finite
 * numbers. Output never contains a raw newline, so canonical values can be stored one per line.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, '$');
  return out.join('');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

function writeString(s: string, out: string[], path: string): void {
  if (hasLoneSurrogate(s)) {
    throw new CordonError('INPUT_INVALID', `${path}: string holds a lone UTF-16 surrogate`);
  }
  out.push(JSON.stringify(s));
}

function write(value: unknown, out: string[], path: string): void {
  if (value === null) {
    out.push('null');
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new CordonError('INPUT_INVALID', `${path}: ${String(value)} has no JSON form`);
    }
    // String(-0) is "0", as RFC 8785 requires.
    out.push(String(value));
  } else if (typeof value === 'string') {
    writeString(value, out, path);
  } else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      write(value[i], out, `${path}[${i}]`);
    }
    out.push(']');
  } else if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    out.push('{');
    keys.forEach((k, i) => {
      if (i > 0) out.push(',');
      writeString(k, out, path);
      out.push(':');
      write(obj[k], out, `${path}.${k}`);
    });
    out.push('}');
  } else {
    throw new CordonError('INPUT_INVALID', `${path}: ${typeof value} has no JSON form`);
  }
}
