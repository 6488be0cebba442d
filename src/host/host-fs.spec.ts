import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { HostFs } from 'src/host/host-fs';

describe(HostFs.name, () => {
  // Made up front: the it.each table below names paths under it.
  const home = realpathSync(mkdtempSync(join(tmpdir(), 'hostfs-home-')));
  const outside = realpathSync(mkdtempSync(join(tmpdir(), 'hostfs-outside-')));
  let fs: HostFs;

  beforeAll(() => {
    for (const name of ['c', 'a', 'b', 'd']) {
      writeFileSync(join(home, name), name);
    }
    mkdirSync(join(home, 'dir'));
    symlinkSync(outside, join(home, 'link-out'));
    symlinkSync(join(home, 'dir'), join(home, 'link-in'));
    fs = new HostFs(home, [home], '/usr/bin:/bin');
  });

  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('should expand ~ and keep paths inside the roots', async () => {
    await expect(fs.resolvePath('~')).resolves.toBe(home);
    await expect(fs.resolvePath('~/dir')).resolves.toBe(join(home, 'dir'));
    await expect(fs.resolvePath(`${home}/dir/../a`)).resolves.toBe(join(home, 'a'));
    await expect(fs.resolvePath('~/link-in')).resolves.toBe(join(home, 'dir'));
    await expect(fs.resolvePath('~/new/not/yet')).resolves.toBe(join(home, 'new/not/yet'));
  });

  it.each([
    ['~/..', 'path_unreachable'],
    ['~/../../etc', 'path_unreachable'],
    [`${home}/dir/../../`, 'path_unreachable'],
    ['~/link-out', 'path_unreachable'],
    ['~/link-out/new', 'path_unreachable'],
    ['/etc/passwd', 'path_unreachable'],
    [`${home}-sibling`, 'path_unreachable'],
    ['relative', 'invalid_path'],
    ['~user/x', 'invalid_path'],
    ['', 'invalid_path'],
    [`${home}/a\0`, 'invalid_path'],
  ])('should refuse %j (%s)', async (path, code) => {
    await expect(fs.resolvePath(path)).rejects.toMatchObject({ data: { code } });
  });

  it('should page a directory by name with after and before', async () => {
    const first = await fs.list({ path: '~', limit: 2 });
    expect(first.entries.map((e) => e.name)).toEqual(['a', 'b']);
    expect(first.has_more).toBe(true);
    const next = await fs.list({ path: '~', limit: 2, after: first.entries[1].path });
    expect(next.entries.map((e) => e.name)).toEqual(['c', 'd']);
    const before = await fs.list({ path: '~', limit: 2, before: join(home, 'd') });
    expect(before.entries.map((e) => e.name)).toEqual(['b', 'c']);
    expect(before.has_more).toBe(true);
    expect(first.entries[0]).toEqual({
      name: 'a',
      path: join(home, 'a'),
      type: 'file',
      bytes: 1,
      modified_at: expect.any(Number),
    });
  });

  it('should report a missing directory as not_found and an existing one on mkdir', async () => {
    await expect(fs.list({ path: '~/missing', limit: 5 })).rejects.toMatchObject({
      data: { code: 'not_found' },
    });
    await expect(fs.mkdir('~/made/deep')).resolves.toEqual({ path: join(home, 'made/deep') });
    await expect(fs.mkdir('~/made/deep')).rejects.toMatchObject({
      data: { code: 'already_exists' },
    });
  });
});
