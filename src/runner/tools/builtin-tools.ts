import { editFileTool } from 'src/runner/tools/edit-file.tool';
import { listDirTool } from 'src/runner/tools/list-dir.tool';
import { readFileTool } from 'src/runner/tools/read-file.tool';
import { shellTool } from 'src/runner/tools/shell.tool';
import { BuiltinTool } from 'src/runner/tools/tool';
import { writeFileTool } from 'src/runner/tools/write-file.tool';

/** The runner's built-in tools, in the order agents and tool lists present them. */
export const BUILTIN_TOOLS: BuiltinTool[] = [
  listDirTool,
  readFileTool,
  writeFileTool,
  editFileTool,
  shellTool,
];

export const BUILTIN_TOOL_NAMES: string[] = BUILTIN_TOOLS.map((tool) => tool.name);

export function getBuiltinTool(name: string): BuiltinTool | undefined {
  return BUILTIN_TOOLS.find((tool) => tool.name === name);
}
