import * as path from 'node:path';

import { ToolFs } from 'src/runner/sandbox/tool-fs';
import { BuiltinTool, ToolContext, withToolPath } from 'src/runner/tools/tool';
import { describeFsError } from 'src/runner/tools/workspace-path';

async function execute(args: Record<string, unknown>, context: ToolContext): Promise<string> {
  const requested = args.path;
  const content = args.content;
  if (typeof requested !== 'string' || requested === '') {
    return 'Error: path is required and must be a string';
  }
  if (typeof content !== 'string') {
    return 'Error: content is required and must be a string';
  }
  return withToolPath(context, requested, (toolFs, file) =>
    write(toolFs, file, requested, Buffer.from(content, 'utf8'), context.signal),
  );
}

async function write(
  toolFs: ToolFs,
  file: string,
  requested: string,
  data: Buffer,
  signal: AbortSignal,
): Promise<string> {
  if (await isDirectory(toolFs, file, signal)) {
    return `Error: '${requested}' is a directory`;
  }
  try {
    await toolFs.mkdir(path.dirname(file));
  } catch (error) {
    if (signal.aborted) {
      throw error;
    }
    // mkdir -p reports EEXIST when a parent component is a file.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      return `Error: A parent of '${requested}' is not a directory`;
    }
    return `Error: ${describeFsError(error, requested)}`;
  }
  try {
    signal.throwIfAborted();
    await toolFs.writeFile(file, data);
  } catch (error) {
    if (signal.aborted) {
      throw error;
    }
    return `Error: ${describeFsError(error, requested)}`;
  }
  return `Wrote ${data.length} bytes to ${requested}`;
}

async function isDirectory(toolFs: ToolFs, file: string, signal: AbortSignal): Promise<boolean> {
  try {
    return (await toolFs.stat(file)).type === 'dir';
  } catch (error) {
    if (signal.aborted) {
      throw error;
    }
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
