import { BUILTIN_TOOLS, BUILTIN_TOOL_NAMES, getBuiltinTool } from 'src/runner/tools/builtin-tools';
import { shellTool } from 'src/runner/tools/shell.tool';

describe('builtin-tools', () => {
  it('should list the built-ins in their fixed order', () => {
    expect(BUILTIN_TOOL_NAMES).toEqual([
      'list_dir',
      'read_file',
      'write_file',
      'edit_file',
      'shell',
    ]);
  });

  it('should give every tool a description and an object schema whose required keys exist', () => {
    for (const tool of BUILTIN_TOOLS) {
      const schema = tool.parameters as { type: string; properties: object; required?: string[] };
      expect(tool.description.length).toBeGreaterThan(20);
      expect(schema.type).toBe('object');
      for (const key of schema.required ?? []) {
        expect(Object.keys(schema.properties)).toContain(key);
      }
    }
  });

  it('should implement every name of the protocol list, under that name', () => {
    expect(BUILTIN_TOOLS.map((tool) => tool.name)).toEqual(BUILTIN_TOOL_NAMES);
  });

  it('should look tools up by name', () => {
    expect(getBuiltinTool('shell')).toBe(shellTool);
    expect(getBuiltinTool('rm_rf')).toBeUndefined();
  });
});
