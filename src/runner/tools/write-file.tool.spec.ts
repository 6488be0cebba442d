import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ToolContext } from 'src/runner/tools/tool';
import { writeFileTool } from 'src/runner/tools/write-file.tool';
import { TOOL_SANDBOXES } from 'test/utils/tool-sandboxes';

describe.each(TOOL_SANDBOXES)(`${writeFileTool.name} (%s)`, (_label, sandboxFor) => {
  let base: string;
  let workspace: string;
  let context: ToolContext;

  beforeEach(() => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-write-')));
    workspace = path.join(base, 'workspace');
    fs.mkdirSync(workspace);
    context = { workspace, signal: new AbortController().signal, sandbox: sandboxFor(workspace) };
  });

  afterEach(() => {
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('should create the file and its parent directories and report the bytes written', async () => {
    await expect(
      writeFileTool.execute({ path: 'a/b/c.txt', content: 'héllo' }, context),
    ).resolves.toBe('Wrote 6 bytes to a/b/c.txt');
    expect(fs.readFileSync(path.join(workspace, 'a', 'b', 'c.txt'), 'utf8')).toBe('héllo');
  });

  it('should overwrite an existing file', async () => {
    fs.writeFileSync(path.join(workspace, 'x.txt'), 'old content');

    await writeFileTool.execute({ path: 'x.txt', content: 'new' }, context);

    expect(fs.readFileSync(path.join(workspace, 'x.txt'), 'utf8')).toBe('new');
  });

  it('should not write through a symlink that leaves the workspace', async () => {
    fs.mkdirSync(path.join(base, 'outside'));
    fs.symlinkSync(path.join(base, 'outside'), path.join(workspace, 'out'));

    const output = await writeFileTool.execute({ path: 'out/evil.txt', content: 'x' }, context);

    expect(output).toBe(
      "Error: Path 'out/evil.txt' resolves outside the workspace through a symbolic link",
    );
    expect(fs.existsSync(path.join(base, 'outside', 'evil.txt'))).toBe(false);
  });

  it('should return error text for bad arguments and targets', async () => {
    fs.mkdirSync(path.join(workspace, 'dir'));
    fs.writeFileSync(path.join(workspace, 'file'), '');

    await expect(writeFileTool.execute({ path: 'dir', content: 'x' }, context)).resolves.toBe(
      "Error: 'dir' is a directory",
    );
    await expect(writeFileTool.execute({ path: 'x.txt' }, context)).resolves.toBe(
      'Error: content is required and must be a string',
    );
    await expect(writeFileTool.execute({ path: '../x.txt', content: 'x' }, context)).resolves.toBe(
      "Error: Path '../x.txt' is outside the workspace",
    );
    await expect(
      writeFileTool.execute({ path: 'file/child.txt', content: 'x' }, context),
    ).resolves.toBe("Error: A parent of 'file/child.txt' is not a directory");
  });
});
