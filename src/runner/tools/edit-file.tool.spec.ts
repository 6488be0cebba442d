import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { editFileTool } from 'src/runner/tools/edit-file.tool';
import { ToolContext } from 'src/runner/tools/tool';
import { TOOL_SANDBOXES } from 'test/utils/tool-sandboxes';

describe.each(TOOL_SANDBOXES)(`${editFileTool.name} (%s)`, (_label, sandboxFor) => {
  let workspace: string;
  let context: ToolContext;
  const file = (): string => path.join(workspace, 'code.ts');

  beforeEach(() => {
    workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-edit-')));
    context = { workspace, signal: new AbortController().signal, sandbox: sandboxFor(workspace) };
    fs.writeFileSync(file(), 'const a = 1;\nconst b = 1;\nconst c = 2;\n');
  });

  afterEach(() => {
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('should replace a unique occurrence', async () => {
    await expect(
      editFileTool.execute({ path: 'code.ts', old_text: 'c = 2', new_text: 'c = 3' }, context),
    ).resolves.toBe('Replaced 1 occurrence in code.ts');
    expect(fs.readFileSync(file(), 'utf8')).toBe('const a = 1;\nconst b = 1;\nconst c = 3;\n');
  });

  it('should insert replacement text literally, without $ patterns', async () => {
    await editFileTool.execute(
      { path: 'code.ts', old_text: 'c = 2', new_text: "c = '$&$1'" },
      context,
    );

    expect(fs.readFileSync(file(), 'utf8')).toContain("const c = '$&$1';");
  });

  it('should refuse an ambiguous match unless replace_all is set', async () => {
    await expect(
      editFileTool.execute({ path: 'code.ts', old_text: '= 1', new_text: '= 9' }, context),
    ).resolves.toBe(
      "Error: old_text occurs 2 times in 'code.ts'; include more surrounding text to make it " +
        'unique, or set replace_all to true',
    );
    expect(fs.readFileSync(file(), 'utf8')).toContain('const a = 1;');

    await expect(
      editFileTool.execute(
        { path: 'code.ts', old_text: '= 1', new_text: '= 9', replace_all: true },
        context,
      ),
    ).resolves.toBe('Replaced 2 occurrences in code.ts');
    expect(fs.readFileSync(file(), 'utf8')).toBe('const a = 9;\nconst b = 9;\nconst c = 2;\n');
  });

  it('should return error text when old_text is not found', async () => {
    await expect(
      editFileTool.execute({ path: 'code.ts', old_text: 'const d', new_text: 'x' }, context),
    ).resolves.toBe(
      "Error: old_text was not found in 'code.ts'; read the file and copy the text exactly",
    );
  });

  it('should return error text for bad arguments and paths', async () => {
    await expect(
      editFileTool.execute({ path: 'missing.ts', old_text: 'a', new_text: 'b' }, context),
    ).resolves.toBe("Error: 'missing.ts' does not exist");
    await expect(
      editFileTool.execute({ path: 'code.ts', old_text: '', new_text: 'b' }, context),
    ).resolves.toBe('Error: old_text is required and must be a non-empty string');
    await expect(
      editFileTool.execute(
        { path: 'code.ts', old_text: 'a', new_text: 'b', replace_all: 'yes' },
        context,
      ),
    ).resolves.toBe('Error: replace_all must be a boolean');
    await expect(
      editFileTool.execute({ path: '/etc/hosts', old_text: 'a', new_text: 'b' }, context),
    ).resolves.toBe("Error: Path '/etc/hosts' is outside the workspace");
  });
});
