import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { READ_FILE_MAX_BYTES, readFileTool } from 'src/runner/tools/read-file.tool';
import { ToolContext } from 'src/runner/tools/tool';
import { TOOL_SANDBOXES } from 'test/utils/tool-sandboxes';

describe.each(TOOL_SANDBOXES)(`${readFileTool.name} (%s)`, (_label, sandboxFor) => {
  let workspace: string;
  let context: ToolContext;

  beforeEach(() => {
    workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-read-')));
    context = { workspace, signal: new AbortController().signal, sandbox: sandboxFor(workspace) };
    fs.writeFileSync(path.join(workspace, 'lines.txt'), 'one\ntwo\nthree\nfour\n');
  });

  afterEach(() => {
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('should return the whole file exactly', async () => {
    await expect(readFileTool.execute({ path: 'lines.txt' }, context)).resolves.toBe(
      'one\ntwo\nthree\nfour\n',
    );
  });

  it('should keep a last line without a newline and multi-byte characters', async () => {
    fs.writeFileSync(path.join(workspace, 'u.txt'), 'héllo\nwörld ✓');

    await expect(readFileTool.execute({ path: 'u.txt' }, context)).resolves.toBe('héllo\nwörld ✓');
  });

  it('should return a page of lines with offset and limit and say where to continue', async () => {
    await expect(
      readFileTool.execute({ path: 'lines.txt', offset: 2, limit: 2 }, context),
    ).resolves.toBe('two\nthree\n\n[showing lines 2-3; more lines follow, read on with offset=4]');
    await expect(readFileTool.execute({ path: 'lines.txt', offset: 4 }, context)).resolves.toBe(
      'four\n',
    );
  });

  it('should cap the output and note the truncation', async () => {
    const line = `${'x'.repeat(1023)}\n`;
    fs.writeFileSync(path.join(workspace, 'big.txt'), line.repeat(300));

    const output = await readFileTool.execute({ path: 'big.txt' }, context);

    expect(output.startsWith(line.repeat(256))).toBe(true);
    expect(
      output.endsWith('[output truncated at 256 KiB after line 256; read on with offset=257]'),
    ).toBe(true);
    expect(Buffer.byteLength(output)).toBeLessThan(READ_FILE_MAX_BYTES + 200);
  });

  it('should show part of a single line longer than the cap', async () => {
    fs.writeFileSync(path.join(workspace, 'wide.txt'), 'y'.repeat(READ_FILE_MAX_BYTES + 10));

    const output = await readFileTool.execute({ path: 'wide.txt' }, context);

    expect(output.startsWith('y'.repeat(READ_FILE_MAX_BYTES))).toBe(true);
    expect(output).toContain('[output truncated at 256 KiB after line 1; read on with offset=2]');
  });

  it('should refuse binary files', async () => {
    fs.writeFileSync(path.join(workspace, 'img.bin'), Buffer.from([0x89, 0x50, 0x00, 0x01]));

    await expect(readFileTool.execute({ path: 'img.bin' }, context)).resolves.toBe(
      "Error: 'img.bin' is a binary file and cannot be shown as text",
    );
  });

  it('should return error text for bad arguments and paths', async () => {
    fs.mkdirSync(path.join(workspace, 'dir'));

    await expect(readFileTool.execute({ path: 'missing.txt' }, context)).resolves.toBe(
      "Error: 'missing.txt' does not exist",
    );
    await expect(readFileTool.execute({ path: 'dir' }, context)).resolves.toBe(
      "Error: 'dir' is a directory; use list_dir to see its entries",
    );
    await expect(readFileTool.execute({ path: '/etc/passwd' }, context)).resolves.toBe(
      "Error: Path '/etc/passwd' is outside the workspace",
    );
    await expect(readFileTool.execute({}, context)).resolves.toBe(
      'Error: path is required and must be a string',
    );
    await expect(readFileTool.execute({ path: 'lines.txt', offset: 0 }, context)).resolves.toBe(
      'Error: offset must be a positive integer',
    );
    await expect(readFileTool.execute({ path: 'lines.txt', offset: 9 }, context)).resolves.toBe(
      "Error: offset 9 is past the end of 'lines.txt' (4 lines)",
    );
  });
});
