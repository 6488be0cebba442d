import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { BuiltinTool, ToolContext } from 'src/runner/tools/tool';
import { describeFsError, resolveForTool } from 'src/runner/tools/workspace-path';

/** Listings stop here so one huge directory cannot flood the model's context. */
export const LIST_DIR_MAX_ENTRIES = 1000;

async function describeEntry(directory: string, name: string): Promise<string> {
  const full = path.join(directory, name);
  try {
    const stat = await fs.lstat(full);
    if (stat.isDirectory()) {
      return `dir   ${name}/`;
    }
    if (stat.isSymbolicLink()) {
      return `link  ${name} -> ${await fs.readlink(full)}`;
    }
    if (stat.isFile()) {
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
  const resolved = resolveForTool(context.workspace, requested);
  if ('error' in resolved) {
    return resolved.error;
  }
  const directory = resolved.path;
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch (error) {
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
  const lines = await Promise.all(shown.map((name) => describeEntry(directory, name)));
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
