import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { FileTooLargeError } from 'src/modules/files/file-storage';
import { LocalFileStorage } from 'src/modules/files/local-file-storage';

describe(LocalFileStorage.name, () => {
  let root: string;
  let storage: LocalFileStorage;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'omnigent-files-'));
    storage = new LocalFileStorage(join(root, 'files'));
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const chunks = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

  it('should stream a file in and read it back', async () => {
    await expect(storage.write('conv_a/file_b', chunks('he', 'llo'), 5)).resolves.toBe(5);
    expect(readFileSync(join(root, 'files', 'conv_a', 'file_b'), 'utf8')).toBe('hello');
    const read: Buffer[] = [];
    for await (const chunk of storage.read('conv_a/file_b')) {
      read.push(chunk as Buffer);
    }
    expect(Buffer.concat(read).toString()).toBe('hello');
  });

  it('should refuse one byte over the cap and leave nothing behind', async () => {
    await expect(storage.write('conv_a/file_b', chunks('he', 'llo!'), 5)).rejects.toBeInstanceOf(
      FileTooLargeError,
    );
    expect(readdirSync(join(root, 'files', 'conv_a'))).toEqual([]);
  });

  it('should refuse keys that are not ids, traversal included', async () => {
    for (const key of ['../x', 'conv_a/../../x', '/etc/passwd', 'a/.b', '', 'a//b']) {
      await expect(storage.write(key, chunks('x'), 5)).rejects.toThrow(/Invalid file store key/);
      expect(() => storage.read(key)).toThrow(/Invalid file store key/);
    }
    expect(existsSync(join(root, 'x'))).toBe(false);
  });

  it('should copy, delete and delete a prefix', async () => {
    await storage.write('conv_a/file_b', chunks('x'), 5);
    await storage.copy('conv_a/file_b', 'conv_c/file_d');
    expect(readFileSync(join(root, 'files', 'conv_c', 'file_d'), 'utf8')).toBe('x');
    await storage.delete('conv_c/file_d');
    await storage.delete('conv_c/file_d');
    expect(existsSync(join(root, 'files', 'conv_c', 'file_d'))).toBe(false);
    await storage.deletePrefix('conv_a');
    expect(existsSync(join(root, 'files', 'conv_a'))).toBe(false);
  });
});
