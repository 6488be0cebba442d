import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { BuiltinTool, ToolContext } from 'src/runner/tools/tool';
import { describeFsError, resolveForTool } from 'src/runner/tools/workspace-path';

async function execute(args: Record<string, unknown>, context: ToolContext): Promise<string> {
  const requested = args.path;
  const content = args.content;
  if (typeof requested !== 'string' || requested === '') {
    return 'Error: path is required and must be a string';
  }
  if (typeof content !== 'string') {
    return 'Error: content is required and must be a string';
  }
  const resolved = resolveForTool(context.workspace, requested);
  if ('error' in resolved) {
    return resolved.error;
  }
  const file = resolved.path;
  if (await isDirectory(file)) {
    return `Error: '${requested}' is a directory`;
  }
  const data = Buffer.from(content, 'utf8');
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
  } catch (error) {
    // mkdir -p reports EEXIST when a parent component is a file.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      return `Error: A parent of '${requested}' is not a directory`;
    }
    return `Error: ${describeFsError(error, requested)}`;
  }
  try {
    await fs.writeFile(file, data, { signal: context.signal });
  } catch (error) {
    if (context.signal.aborted) {
      throw error;
    }
    return `Error: ${describeFsError(error, requested)}`;
  }
  return `Wrote ${data.length} bytes to ${requested}`;
}

async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isDirectory();
  } catch {
    return false;
  }
}

export const writeFileTool: BuiltinTool = {
  name: 'write_file',
  description:
    'Create or overwrite a file in the workspace with the given UTF-8 content. Missing parent ' +
    'directories are created. Returns the number of bytes written.',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'File to write, relative to the workspace root.' },
      content: { type: 'string', description: 'The complete new content of the file.' },
    },
    required: ['path', 'content'],
    additionalProperties: false,
  },
  execute,
};
