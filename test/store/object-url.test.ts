import { describe, expect, it } from 'vitest';
import { CordonError } from '../../src/core/errors.js';
import { describeObjectConfig, parseObjectUrl } from '../../src/store/object-url.js';

function problem(url: string, env: Record<string, string> = {}): string {
  try {
    parseObjectUrl(url, env);
  } catch (e) {
    expect(e).toBeInstanceOf(CordonError);
    expect((e as CordonError).code).toBe('CONFIG_INVALID');
    return (e as CordonError).message;
  }
  throw new Error(`${url} was accepted`);
}

describe('parseObjectUrl', () => {
  it('reads an s3:// URL for a test server', () => {
    expect(
      parseObjectUrl(
        's3://bucket/prefix?endpoint=http://127.0.0.1:4569&region=us-east-1&forcePathStyle=true',
        {},
      ),
    ).toEqual({
      kind: 's3',
      bucket: 'bucket',
      prefix: 'prefix',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:4569',
      forcePathStyle: true,
    });
  });

  it('reads an AWS bucket with a nested prefix, region and credentials from the environment', () => {
    const env = {
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret/with+chars',
      AWS_SESSION_TOKEN: 'token',
    };
    expect(parseObjectUrl('s3://my.data-bucket/teams/ml/cordon/', env)).toEqual({
      kind: 's3',
      bucket: 'my.data-bucket',
      prefix: 'teams/ml/cordon',
      region: 'eu-west-3',
      forcePathStyle: false,
      credentials: {
        accessKeyId: 'AKIAEXAMPLE',
        secretAccessKey: 'secret/with+chars',
        sessionToken: 'token',
      },
    });
  });

  it('leaves credentials to the SDK chain when none are given; the root prefix is empty', () => {
    const c = parseObjectUrl('s3://bucket', { AWS_DEFAULT_REGION: 'us-west-2' });
    expect(c).toEqual({
      kind: 's3',
      bucket: 'bucket',
      prefix: '',
      region: 'us-west-2',
      forcePathStyle: false,
    });
  });

  it('takes user:password from the URL (test servers), percent-decoded, before the environment', () => {
    const c = parseObjectUrl('s3://S3RVER:se%2Fcret@bucket/p?endpoint=http://localhost:1', {
      AWS_ACCESS_KEY_ID: 'ignored',
      AWS_SECRET_ACCESS_KEY: 'ignored',
    });
    expect(c).toMatchObject({
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'se/cret' },
      forcePathStyle: true, // the default with an endpoint
    });
  });

  it('reads tuning parameters', () => {
    expect(parseObjectUrl('s3://bucket/p?partSize=16MiB&staleAfter=2h', {})).toMatchObject({
      partSize: 16 * 1024 * 1024,
      staleAfterMs: 2 * 3600 * 1000,
    });
    expect(parseObjectUrl('s3://bucket/p?partSize=5242880&staleAfter=0', {})).toMatchObject({
      partSize: 5242880,
      staleAfterMs: 0,
    });
  });

  it('reads a file:// URL', () => {
    expect(parseObjectUrl('file:///var/lib/cordon/objects/', {})).toEqual({
      kind: 'file',
      root: '/var/lib/cordon/objects',
    });
    expect(parseObjectUrl('file:///tmp/with%20space', {})).toEqual({
      kind: 'file',
      root: '/tmp/with space',
    });
  });

  it.each([
    ['', /is empty/],
    ['/var/lib/objects', /not a URL/],
    ['http://bucket/prefix', /scheme "http:" is not supported/],
    ['s3:///prefix', /bucket: missing/],
    ['s3://Bad_Bucket/p', /bucket: "Bad_Bucket" is not a valid bucket name/],
    ['s3://ab/p', /bucket: "ab" is not a valid/],
    ['s3://bucket:9000/p', /bucket: .* carries a port; give the server as \?endpoint=/],
    ['s3://bucket/a//b', /prefix: contains an empty segment/],
    ['s3://bucket/a/../b', /prefix: segment "\.\." is not allowed/],
    ['s3://bucket/a%ZZ', /prefix: "a%ZZ" is not valid percent-encoding/],
    ['s3://bucket/p?endpont=http://x', /query parameter "endpont" is not known/],
    ['s3://bucket/p?region=a&region=b', /query parameter "region" is given more than once/],
    ['s3://bucket/p?endpoint=127.0.0.1:4569', /endpoint: "127.0.0.1:4569" is not a URL/],
    ['s3://bucket/./p', /prefix: segment "\." is not allowed/],
    ['s3://bucket/p?endpoint=ftp://host', /endpoint: "ftp:\/\/host" must be an http/],
    ['s3://bucket/p?endpoint=http://h/path', /endpoint: "http:\/\/h" must not carry a path/],
    ['s3://bucket/p?region=EU West', /region: "EU West" is not a region name/],
    ['s3://bucket/p?forcePathStyle=yes', /forcePathStyle: "yes" is not true or false/],
    ['s3://bucket/p?partSize=1MiB', /partSize: "1MiB" is outside S3's limits/],
    ['s3://bucket/p?partSize=lots', /partSize: "lots" is not a size/],
    ['s3://bucket/p?staleAfter=soon', /staleAfter: "soon" is not a duration/],
    ['s3://bucket/p#frag', /takes no fragment/],
    ['s3://key@bucket/p', /the URL has an access key id but no secret/],
    ['file://server/share', /file: URL names host "server"/],
    ['file:///tmp/x?y=1', /a file: URL takes no query/],
    ['file:///', /the file system root cannot hold objects/],
  ])('rejects %j, naming the bad part', (url, message) => {
    const m = problem(url);
    expect(m).toMatch(/^CORDON_OBJECT_URL: /);
    expect(m).toMatch(message);
  });

  it('rejects half a key pair in the environment', () => {
    expect(problem('s3://bucket', { AWS_ACCESS_KEY_ID: 'id' })).toMatch(
      /AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not/,
    );
    expect(problem('s3://bucket', { AWS_SECRET_ACCESS_KEY: 'x' })).toMatch(
      /AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not/,
    );
  });

  it('never repeats the secret of a URL in a message or a description', () => {
    const secret = 'TOPSECRETVALUE';
    for (const url of [
      `s3://id:${secret}@bucket/p?region=EU`,
      `s3://id:${secret}@Bad/p`,
      `s3://id:${secret}@bucket/p?nope=1`,
      `s3://id:${secret}@bucket:1/p`,
      `s3://id:${secret}@bucket/p%`,
    ]) {
      expect(problem(url)).not.toContain(secret);
    }
    const ok = parseObjectUrl(`s3://id:${secret}@bucket/p?endpoint=http://127.0.0.1:9`, {});
    expect(describeObjectConfig(ok)).toBe('s3://bucket/p at http://127.0.0.1:9');
    expect(describeObjectConfig({ kind: 'file', root: '/srv/objects' })).toBe(
      'file:///srv/objects',
    );
  });

  it('names the variable it was given', () => {
    expect(() => parseObjectUrl('gs://bucket', {}, 'CORDON_TEST_OBJECT_URL')).toThrow(
      /^CORDON_TEST_OBJECT_URL: scheme "gs:"/,
    );
  });
});
