import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

import { FileTooLargeError } from 'src/modules/files/file-storage';
import { S3FileStorage } from 'src/modules/files/s3-file-storage';

const BUCKET = 'omnigent-files';

/** The S3 backend against a local S3-compatible server (s3rver, from npm). */
describe(S3FileStorage.name, () => {
  let dir: string;
  let server: S3rver;
  let client: S3Client;
  let storage: S3FileStorage;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omnigent-s3rver-'));
    server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: dir,
      configureBuckets: [{ name: BUCKET, configs: [] }],
    });
    const { port } = await server.run();
    client = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    storage = new S3FileStorage(client, { bucket: BUCKET, prefix: 'files/' });
  });

  afterAll(async () => {
    client?.destroy();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const chunks = (...parts: (string | Buffer)[]) =>
    Readable.from(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));

  async function readAll(stream: Readable): Promise<string> {
    const read: Buffer[] = [];
    for await (const chunk of stream) {
      read.push(chunk as Buffer);
    }
    return Buffer.concat(read).toString();
  }

  async function keys(): Promise<string[]> {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    return (listed.Contents ?? []).map((o) => o.Key as string).sort();
  }

  it('should stream a file in under its prefix and read it back', async () => {
    await expect(storage.write('conv_a/file_b', chunks('he', 'llo'), 5)).resolves.toBe(5);
    expect(await keys()).toContain('files/conv_a/file_b');
    expect(await readAll(storage.read('conv_a/file_b'))).toBe('hello');
  });

  it('should stream a multi-part upload (over 5 MiB) without losing bytes', async () => {
    const part = Buffer.alloc(1024 * 1024, 'x');
    const size = 6 * part.length + 3;
    const written = await storage.write(
      'conv_big/file_b',
      chunks(...Array.from({ length: 6 }, () => part), 'end'),
      size,
    );
    expect(written).toBe(size);
    const read = await readAll(storage.read('conv_big/file_b'));
    expect(read.length).toBe(size);
    expect(read.endsWith('xend')).toBe(true);
    await storage.deletePrefix('conv_big');
  });

  it('should refuse one byte over the cap and leave nothing behind', async () => {
    await expect(storage.write('conv_c/file_b', chunks('he', 'llo!'), 5)).rejects.toBeInstanceOf(
      FileTooLargeError,
    );
    expect((await keys()).filter((k) => k.startsWith('files/conv_c/'))).toEqual([]);
  });

  it('should answer a missing key with an ENOENT stream error', async () => {
    await expect(readAll(storage.read('conv_x/file_missing'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('should refuse keys that are not ids', async () => {
    for (const key of ['../x', 'conv_a/../../x', '/etc/passwd', 'a/.b', '', 'a//b']) {
      await expect(storage.write(key, chunks('x'), 5)).rejects.toThrow(/Invalid file store key/);
      expect(() => storage.read(key)).toThrow(/Invalid file store key/);
    }
  });

  it('should copy, delete and delete a prefix', async () => {
    await storage.write('conv_d/file_b', chunks('x'), 5);
    await storage.write('conv_d/file_c', chunks('y'), 5);
    await storage.copy('conv_d/file_b', 'conv_e/file_d');
    expect(await readAll(storage.read('conv_e/file_d'))).toBe('x');
    await storage.delete('conv_e/file_d');
    await storage.delete('conv_e/file_d');
    expect(await keys()).not.toContain('files/conv_e/file_d');
    await storage.deletePrefix('conv_d');
    expect((await keys()).filter((k) => k.startsWith('files/conv_d/'))).toEqual([]);
  });
});
