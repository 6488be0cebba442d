import * as path from 'node:path';

import { ToolFs } from 'src/runner/sandbox/tool-fs';
import { BuiltinTool, ToolContext, withToolPath } from 'src/runner/tools/tool';
import { describeFsError } from 'src/runner/tools/workspace-path';

/** Listings stop here so one huge directory cannot flood the model's context. */
export const LIST_DIR_MAX_ENTRIES = 1000;

async function describeEntry(toolFs: ToolFs, directory: string, name: string): Promise<string> {
  const full = path.join(directory, name);
  try {
    const stat = await toolFs.lstat(full);
    if (stat.type === 'dir') {
      return `dir   ${name}/`;
    }
    if (stat.type === 'link') {
      return `link  ${name} -> ${await toolFs.readlink(full)}`;
    }
    if (stat.type === 'file') {
      return `file  ${name} (${stat.size} bytes)`;
    }
    return `other ${name}`;
  } catch {
    // The entry vanished between readdir and lstat; still show that it was there.
    return `other ${name}`;
  }
}

async function execute(args: Record<string, unknown>, context: ToolContext): Promise<string> {
  const requested = args.path ?? '.';
  if (typeof requested !== 'string') {
    return 'Error: path must be a string';
  }
  return withToolPath(context, requested, (toolFs, directory) =>
    list(toolFs, directory, requested, context.signal),
  );
}

async function list(
  toolFs: ToolFs,
  directory: string,
  requested: string,
  signal: AbortSignal,
): Promise<string> {
  let names: string[];
  try {
    names = await toolFs.readdir(directory);
  } catch (error) {
    if (signal.aborted) {
      throw error;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') {
      return `Error: '${requested}' is not a directory`;
    }
    return `Error: ${describeFsError(error, requested)}`;
  }
  if (names.length === 0) {
    return `${requested}: empty directory`;
  }
  // Code-point order, not locale order, so listings are identical on every machine.
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const shown = names.slice(0, LIST_DIR_MAX_ENTRIES);
  const lines = await Promise.all(shown.map((name) => describeEntry(toolFs, directory, name)));
  signal.throwIfAborted();
  const header = `${requested}: ${names.length} ${names.length === 1 ? 'entry' : 'entries'}`;
  const note =
    names.length > shown.length
      ? [
          `[listing capped at ${LIST_DIR_MAX_ENTRIES} entries; ${names.length - shown.length} more not shown]`,
        ]
      : [];
  return [header, ...lines, ...note].join('\n');
}

export const listDirTool: BuiltinTool = {
  name: 'list_dir',
  description:
    'List the entries of a directory in the workspace, sorted by name, with their type ' +
    `(file, dir, link) and file sizes in bytes. At most ${LIST_DIR_MAX_ENTRIES} entries are shown.`,
  parameters: {
    type: 'object',
    properties: {
      path: {
        type: 'string',
        description: 'Directory to list, relative to the workspace root. Defaults to the root.',
      },
    },
    additionalProperties: false,
  },
  execute,
};
