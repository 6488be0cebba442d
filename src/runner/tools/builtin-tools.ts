import { BUILTIN_TOOL_NAMES, BuiltinToolName, isBuiltinToolName } from 'src/protocol/agent-spec';
import { editFileTool } from 'src/runner/tools/edit-file.tool';
import { listDirTool } from 'src/runner/tools/list-dir.tool';
import { readFileTool } from 'src/runner/tools/read-file.tool';
import { shellTool } from 'src/runner/tools/shell.tool';
import { BuiltinTool } from 'src/runner/tools/tool';
import { writeFileTool } from 'src/runner/tools/write-file.tool';

export { BUILTIN_TOOL_NAMES } from 'src/protocol/agent-spec';

// A Record over the protocol's names: a name the registry accepts without an implementation here
// (or the other way round) does not compile.
const BY_NAME: Record<BuiltinToolName, BuiltinTool> = {
  list_dir: listDirTool,
  read_file: readFileTool,
  write_file: writeFileTool,
  edit_file: editFileTool,
  shell: shellTool,
};

/** The runner's built-in tools, in the order agents and tool lists present them. */
export const BUILTIN_TOOLS: BuiltinTool[] = BUILTIN_TOOL_NAMES.map((name) => BY_NAME[name]);

export function getBuiltinTool(name: string): BuiltinTool | undefined {
  return isBuiltinToolName(name) ? BY_NAME[name] : undefined;
}
