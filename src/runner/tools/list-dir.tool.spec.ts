import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { LIST_DIR_MAX_ENTRIES, listDirTool } from 'src/runner/tools/list-dir.tool';
import { ToolContext } from 'src/runner/tools/tool';
import { TOOL_SANDBOXES } from 'test/utils/tool-sandboxes';

describe.each(TOOL_SANDBOXES)(`${listDirTool.name} (%s)`, (_label, sandboxFor) => {
  let workspace: string;
  let context: ToolContext;

  beforeEach(() => {
    workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-list-')));
    context = { workspace, signal: new AbortController().signal, sandbox: sandboxFor(workspace) };
  });

  afterEach(() => {
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('should list entries sorted by name with type and size', async () => {
    fs.writeFileSync(path.join(workspace, 'b.txt'), 'hello');
    fs.mkdirSync(path.join(workspace, 'a-dir'));
    fs.symlinkSync('b.txt', path.join(workspace, 'c-link'));

    const output = await listDirTool.execute({}, context);

    expect(output.split('\n')).toEqual([
      '.: 3 entries',
      'dir   a-dir/',
      'file  b.txt (5 bytes)',
      'link  c-link -> b.txt',
    ]);
  });

  it('should list a subdirectory', async () => {
    fs.mkdirSync(path.join(workspace, 'src'));
    fs.writeFileSync(path.join(workspace, 'src', 'main.ts'), '');

    await expect(listDirTool.execute({ path: 'src' }, context)).resolves.toBe(
      'src: 1 entry\nfile  main.ts (0 bytes)',
    );
  });

  it('should say when a directory is empty', async () => {
    await expect(listDirTool.execute({ path: '.' }, context)).resolves.toBe('.: empty directory');
  });

  it('should cap long listings with a note', async () => {
    for (let i = 0; i < LIST_DIR_MAX_ENTRIES + 5; i++) {
      fs.writeFileSync(path.join(workspace, `f${String(i).padStart(4, '0')}`), '');
    }

    const lines = (await listDirTool.execute({}, context)).split('\n');

    expect(lines[0]).toBe(`.: ${LIST_DIR_MAX_ENTRIES + 5} entries`);
    expect(lines).toHaveLength(LIST_DIR_MAX_ENTRIES + 2);
    expect(lines[lines.length - 1]).toBe('[listing capped at 1000 entries; 5 more not shown]');
  });

  it('should return error text for a missing directory, a file and an escape', async () => {
    fs.writeFileSync(path.join(workspace, 'file.txt'), 'x');

    await expect(listDirTool.execute({ path: 'nope' }, context)).resolves.toBe(
      "Error: 'nope' does not exist",
    );
    await expect(listDirTool.execute({ path: 'file.txt' }, context)).resolves.toBe(
      "Error: 'file.txt' is not a directory",
    );
    await expect(listDirTool.execute({ path: '..' }, context)).resolves.toBe(
      "Error: Path '..' is outside the workspace",
    );
    await expect(listDirTool.execute({ path: 3 }, context)).resolves.toBe(
      'Error: path must be a string',
    );
  });
});
