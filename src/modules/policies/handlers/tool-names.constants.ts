/**
 * Upstream's harness tool vocabularies (spec/policies.md §7) plus our runner's built-ins
 * (`list_dir`, `read_file`, `write_file`, `edit_file`, `shell`), so the handlers fire for both.
 */
export const OS_TOOLS: ReadonlySet<string> = new Set([
  // upstream sys tools
  'sys_os_read',
  'sys_os_write',
  'sys_os_edit',
  'sys_os_shell',
  // Claude Code / Codex, Cursor
  'Bash',
  'Read',
  'Write',
  'Edit',
  'Glob',
  'Grep',
  'Shell',
  // Pi, OpenCode
  'read',
  'bash',
  'write',
  'edit',
  'grep',
  'glob',
  // Hermes
  'terminal',
  'execute_code',
  'read_file',
  'write_file',
  'search_files',
  // Goose
  'developer__shell',
  'developer__write',
  'developer__edit',
  'developer__text_editor',
  'developer__read_image',
  'developer__tree',
  // our runner
  'list_dir',
  'edit_file',
  'shell',
]);

/** Tools that change files. */
export const FILE_MUTATING_TOOLS: ReadonlySet<string> = new Set([
  'sys_os_write',
  'sys_os_edit',
  'Write',
  'Edit',
  'MultiEdit',
  'write',
  'edit',
  'write_file',
  'edit_file',
]);

/** Tools that write one file named by a path argument (worktree_guard). */
export const PATH_WRITE_TOOLS: ReadonlySet<string> = new Set([
  'sys_os_write',
  'sys_os_edit',
  'write_file',
  'edit_file',
]);

/** Tools that run a shell command line (blast_radius, block_working_dir_changes). */
export const SHELL_TOOLS: ReadonlySet<string> = new Set([
  'sys_os_shell',
  'Bash',
  'Shell',
  'bash',
  'terminal',
  'developer__shell',
  'shell',
]);
