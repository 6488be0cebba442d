import { readAll, ToolFs } from 'src/runner/sandbox/tool-fs';
import { BuiltinTool, ToolContext, withToolPath } from 'src/runner/tools/tool';
import { describeFsError } from 'src/runner/tools/workspace-path';

function countOccurrences(text: string, search: string): number {
  let count = 0;
  let index = text.indexOf(search);
  while (index !== -1) {
    count++;
    index = text.indexOf(search, index + search.length);
  }
  return count;
}

async function execute(args: Record<string, unknown>, context: ToolContext): Promise<string> {
  const { path: requested, old_text: oldText, new_text: newText } = args;
  const replaceAll = args.replace_all ?? false;
  if (typeof requested !== 'string' || requested === '') {
    return 'Error: path is required and must be a string';
  }
  if (typeof oldText !== 'string' || oldText === '') {
    return 'Error: old_text is required and must be a non-empty string';
  }
  if (typeof newText !== 'string') {
    return 'Error: new_text is required and must be a string';
  }
  if (typeof replaceAll !== 'boolean') {
    return 'Error: replace_all must be a boolean';
  }
  return withToolPath(context, requested, (toolFs, file) =>
    edit(toolFs, file, requested, { oldText, newText, replaceAll }, context.signal),
  );
}

async function edit(
  toolFs: ToolFs,
  file: string,
  requested: string,
  change: { oldText: string; newText: string; replaceAll: boolean },
  signal: AbortSignal,
): Promise<string> {
  const { oldText, newText, replaceAll } = change;
  let text: string;
  try {
    const data = await readAll(toolFs, file, signal);
    if (data.includes(0)) {
      return `Error: '${requested}' is a binary file and cannot be edited as text`;
    }
    text = data.toString('utf8');
  } catch (error) {
    if (signal.aborted) {
      throw error;
    }
    return `Error: ${describeFsError(error, requested)}`;
  }
  const count = countOccurrences(text, oldText);
  if (count === 0) {
    return `Error: old_text was not found in '${requested}'; read the file and copy the text exactly`;
  }
  if (count > 1 && !replaceAll) {
    return (
      `Error: old_text occurs ${count} times in '${requested}'; include more surrounding text ` +
      'to make it unique, or set replace_all to true'
    );
  }
  // split/join instead of String.replace, whose replacement string would interpret `$&` and `$1`.
  const updated = text.split(oldText).join(newText);
  try {
    signal.throwIfAborted();
    await toolFs.writeFile(file, Buffer.from(updated, 'utf8'));
  } catch (error) {
    if (signal.aborted) {
      throw error;
    }
    return `Error: ${describeFsError(error, requested)}`;
  }
  return `Replaced ${count} ${count === 1 ? 'occurrence' : 'occurrences'} in ${requested}`;
}

export const editFileTool: BuiltinTool = {
  name: 'edit_file',
  description:
    'Replace exact text in a workspace file. old_text must match the file exactly (including ' +
    'whitespace) and occur once, unless replace_all is true, which replaces every occurrence.',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'File to edit, relative to the workspace root.' },
      old_text: { type: 'string', description: 'The exact text to replace.' },
      new_text: { type: 'string', description: 'The text to put in its place.' },
      replace_all: {
        type: 'boolean',
        description:
          'Replace every occurrence instead of requiring exactly one. Defaults to false.',
      },
    },
    required: ['path', 'old_text', 'new_text'],
    additionalProperties: false,
  },
  execute,
};
