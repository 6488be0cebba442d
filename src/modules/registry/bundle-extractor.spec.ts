import fs from 'node:fs';
import fsPromises from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { Header, pack } from 'tar-stream';

import { BundleError, readBundle } from 'src/modules/registry/bundle-extractor';

interface TestEntry extends Partial<Header> {
  name: string;
  content?: string | Buffer;
}

const CONFIG = 'name: bundled\nexecutor: {harness: echo}\n';

async function tarOf(entries: TestEntry[]): Promise<Buffer> {
  const packer = pack();
  const chunks: Buffer[] = [];
  const collected = new Promise<Buffer>((resolve, reject) => {
    packer.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    packer.on('end', () => resolve(Buffer.concat(chunks)));
    packer.on('error', reject);
  });
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (content === undefined) {
        packer.entry(header, done);
      } else {
        packer.entry(header, content, done);
      }
    });
  }
  packer.finalize();
  return collected;
}

async function bundleOf(entries: TestEntry[]): Promise<Buffer> {
  return gzipSync(await tarOf(entries));
}

function file(name: string, content: string | Buffer = 'x'): TestEntry {
  return { name, type: 'file', content, mode: 0o755 };
}

async function gzipZeros(bytes: number): Promise<Buffer> {
  const chunk = Buffer.alloc(1024 * 1024);
  const chunks: Buffer[] = [];
  const source = Readable.from(
    (function* () {
      for (let sent = 0; sent < bytes; sent += chunk.length) {
        yield chunk;
      }
    })(),
  );
  for await (const out of source.pipe(createGzip({ level: 9 }))) {
    chunks.push(out as Buffer);
  }
  return Buffer.concat(chunks);
}

// Every way the old extractor touched the disk: a read must use none of them.
const FS_WRITES: [object, string][] = [
  [fsPromises, 'mkdtemp'],
  [fsPromises, 'mkdir'],
  [fsPromises, 'open'],
  [fsPromises, 'writeFile'],
  [fsPromises, 'rename'],
  [fs, 'mkdtempSync'],
  [fs, 'mkdirSync'],
  [fs, 'openSync'],
  [fs, 'writeFileSync'],
  [fs, 'createWriteStream'],
];

function texts(files: Map<string, Buffer>): Record<string, string> {
  return Object.fromEntries([...files].map(([name, data]) => [name, data.toString('utf8')]));
}

describe(readBundle.name, () => {
  let fsSpies: jest.SpyInstance[];

  beforeEach(() => {
    fsSpies = FS_WRITES.map(([module, name]) => jest.spyOn(module as never, name as never));
  });

  afterEach(() => {
    // Whatever the outcome, nothing was written: a kill -9 mid-upload leaves nothing behind.
    for (const spy of fsSpies) {
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
    }
  });

  async function expectRejected(archive: Buffer, message: string | RegExp): Promise<void> {
    const attempt = readBundle(archive);
    await expect(attempt).rejects.toThrow(BundleError);
    await expect(attempt).rejects.toThrow(message);
  }

  describe('valid bundles', () => {
    it('should read files and return config.yaml', async () => {
      const archive = await bundleOf([
        file('config.yaml', CONFIG),
        { name: 'prompts/', type: 'directory' },
        file('prompts/system.md', 'be nice'),
        file('deep/nested/data.json', '{}'),
        file('empty.txt', ''),
      ]);

      const result = await readBundle(archive);

      expect(result.configYaml).toBe(CONFIG);
      expect([...result.files.keys()]).toEqual([
        'config.yaml',
        'deep/nested/data.json',
        'empty.txt',
        'prompts/system.md',
      ]);
      expect(texts(result.files)['prompts/system.md']).toBe('be nice');
      expect(texts(result.files)['empty.txt']).toBe('');
    });

    it('should return file contents byte for byte', async () => {
      const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x0a]);
      const result = await readBundle(
        await bundleOf([file('config.yaml', CONFIG), file('blob.bin', binary)]),
      );

      expect(result.files.get('blob.bin')).toEqual(binary);
    });

    it('should accept ./-prefixed entries as made by tar -C dir .', async () => {
      const archive = await bundleOf([
        { name: './', type: 'directory' },
        file('./config.yaml', CONFIG),
        file('./notes.txt', 'n'),
      ]);

      expect([...(await readBundle(archive)).files.keys()]).toEqual(['config.yaml', 'notes.txt']);
    });

    it('should strip one top-level directory wrapping everything', async () => {
      const archive = await bundleOf([
        { name: 'myagent/', type: 'directory' },
        file('myagent/config.yaml', CONFIG),
        file('myagent/myagent/inner.txt', 'inner'),
      ]);

      const result = await readBundle(archive);

      expect([...result.files.keys()]).toEqual(['config.yaml', 'myagent/inner.txt']);
      expect(result.configYaml).toBe(CONFIG);
      expect(texts(result.files)['myagent/inner.txt']).toBe('inner');
    });

    it('should accept exactly the entry and size limits', async () => {
      const archive = await bundleOf([file('config.yaml', CONFIG), file('b', 'x'.repeat(10))]);

      const result = await readBundle(archive, {
        maxEntries: 2,
        maxUnpackedBytes: CONFIG.length + 10,
      });

      expect([...result.files.keys()]).toEqual(['b', 'config.yaml']);
    });

    it('should accept a file name of exactly 255 bytes', async () => {
      const name = 'a'.repeat(251) + '.txt';
      const result = await readBundle(await bundleOf([file('config.yaml', CONFIG), file(name)]));

      expect(result.files.has(name)).toBe(true);
    });
  });

  describe('unsafe names', () => {
    it('should reject a ../ path', async () => {
      const archive = await bundleOf([file('config.yaml', CONFIG), file('../evil', 'pwned')]);

      await expectRejected(archive, '".." segment');
    });

    it('should reject a .. segment in the middle of a path', async () => {
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file('a/../../evil')]),
        '".." segment',
      );
    });

    it('should reject an absolute path', async () => {
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file('/tmp/abs-evil')]),
        'absolute path',
      );
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file('C:/evil')]),
        'absolute path',
      );
    });

    it('should reject backslashes and NUL characters', async () => {
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file('..\\evil')]),
        'backslashes or NUL',
      );
      // Long names travel in a pax record, the one place a NUL survives decoding.
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file(`${'a'.repeat(120)}\0evil`)]),
        'backslashes or NUL',
      );
    });

    // The red team's 500: a 300-character name (ENAMETOOLONG on disk) is the uploader's error.
    it('should reject a 300-character file name with a clear message', async () => {
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file('x'.repeat(300))]),
        'longer than 255 bytes',
      );
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file(`${'d'.repeat(300)}/config.txt`)]),
        'longer than 255 bytes',
      );
    });

    it('should count a name in bytes, not characters', async () => {
      // 128 two-byte characters: 128 characters, 256 bytes.
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file('é'.repeat(128))]),
        'longer than 255 bytes',
      );
    });

    it('should reject a name longer than 4096 characters', async () => {
      const long = Array.from({ length: 20 }, () => 'p'.repeat(250)).join('/');
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file(long)]),
        'longer than 4096 characters',
      );
    });
  });

  describe('entry types', () => {
    it('should reject a symlink', async () => {
      const archive = await bundleOf([
        file('config.yaml', CONFIG),
        { name: 'link', type: 'symlink', linkname: '/etc/passwd' },
      ]);

      await expectRejected(archive, 'is a symlink');
    });

    it('should reject a hardlink', async () => {
      const archive = await bundleOf([
        file('config.yaml', CONFIG),
        { name: 'hard', type: 'link', linkname: 'config.yaml' },
      ]);

      await expectRejected(archive, 'is a link');
    });

    it('should reject devices and FIFOs', async () => {
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), { name: 'pipe', type: 'fifo' }]),
        'is a fifo',
      );
      await expectRejected(
        await bundleOf([
          file('config.yaml', CONFIG),
          { name: 'tty', type: 'character-device', devmajor: 5, devminor: 0 },
        ]),
        'is a character-device',
      );
    });

    it('should reject duplicate names and file/directory clashes', async () => {
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file('config.yaml', 'name: other')]),
        'more than one entry',
      );
      await expectRejected(
        await bundleOf([file('config.yaml', CONFIG), file('a'), file('a/b')]),
        'both a file and a directory',
      );
    });
  });

  describe('limits', () => {
    it('should reject more than 1,000 entries', async () => {
      const entries = [file('config.yaml', CONFIG)];
      for (let index = 0; index < 1000; index += 1) {
        entries.push(file(`f/${index}.txt`));
      }

      await expectRejected(await bundleOf(entries), 'more than 1000 entries');
    });

    it('should reject a file of 10 MiB + 1 byte', async () => {
      const archive = await bundleOf([
        file('config.yaml', CONFIG),
        file('big.bin', Buffer.alloc(10 * 1024 * 1024 + 1 - CONFIG.length)),
      ]);

      await expectRejected(archive, `more than ${10 * 1024 * 1024} bytes`);
    });

    it('should count the total over all files', async () => {
      const archive = await bundleOf([
        file('config.yaml', CONFIG),
        file('a', 'x'.repeat(600)),
        file('b', 'x'.repeat(600)),
      ]);

      await expect(readBundle(archive, { maxUnpackedBytes: 1000 })).rejects.toThrow(
        'more than 1000 bytes',
      );
    });

    it('should stop inflating a gzip bomb past the limit', async () => {
      const bomb = await gzipZeros(64 * 1024 * 1024);
      expect(bomb.length).toBeLessThan(1024 * 1024);

      await expectRejected(bomb, 'more than');
    });

    it('should reject a gzip bomb hidden in one large file', async () => {
      const archive = await bundleOf([
        file('config.yaml', CONFIG),
        file('zeros.bin', Buffer.alloc(32 * 1024 * 1024)),
      ]);
      expect(archive.length).toBeLessThan(1024 * 1024);

      await expectRejected(archive, 'more than');
    });
  });

  describe('broken archives', () => {
    it('should reject non-gzip garbage', async () => {
      await expectRejected(Buffer.from('definitely not a tarball'), 'not a gzip archive');
      await expectRejected(await tarOf([file('config.yaml', CONFIG)]), 'not a gzip archive');
    });

    it('should reject a corrupt gzip stream', async () => {
      const archive = await bundleOf([file('config.yaml', CONFIG)]);

      await expectRejected(
        Buffer.concat([archive.subarray(0, 10), Buffer.alloc(64, 0xff)]),
        'not a valid gzip',
      );
      await expectRejected(archive.subarray(0, archive.length - 12), 'not a valid gzip');
    });

    it('should reject gzip that does not hold a tar', async () => {
      await expectRejected(gzipSync(Buffer.alloc(2048, 0x41)), 'not a valid tar');
    });

    it('should reject a truncated tar', async () => {
      const tar = await tarOf([file('config.yaml', CONFIG), file('b', 'x'.repeat(4096))]);

      await expectRejected(gzipSync(tar.subarray(0, 1024 + 512)), 'not a valid tar');
    });
  });

  describe('config.yaml', () => {
    it('should reject a bundle without config.yaml', async () => {
      await expectRejected(await bundleOf([file('agent.yaml', CONFIG)]), 'no config.yaml');
    });

    it('should reject config.yaml that is a directory', async () => {
      await expectRejected(
        await bundleOf([{ name: 'config.yaml/', type: 'directory' }, file('config.yaml/x')]),
        'no config.yaml',
      );
    });

    it('should reject config.yaml nested deeper than one wrapper', async () => {
      await expectRejected(await bundleOf([file('a/b/config.yaml', CONFIG)]), 'no config.yaml');
    });

    it('should reject a wrapper with siblings', async () => {
      await expectRejected(
        await bundleOf([file('myagent/config.yaml', CONFIG), file('README.md')]),
        'no config.yaml',
      );
    });
  });
});
