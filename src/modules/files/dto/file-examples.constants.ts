import { EXAMPLE_IDS, EXAMPLE_TIME, listExample } from 'src/common/openapi/examples';
import type {
  FileDeletedResponseDto,
  FileResourceDto,
  FilesCopiedResponseDto,
} from 'src/modules/files/dto/file-response.dto';

/** The documented request and response examples of the files and environments routes. */
export const FILE_EXAMPLE: FileResourceDto = {
  id: EXAMPLE_IDS.file,
  object: 'session.resource',
  type: 'file',
  session_id: EXAMPLE_IDS.session,
  name: 'notes.md',
  metadata: {
    filename: 'notes.md',
    bytes: 1024,
    created_at: EXAMPLE_TIME,
    content_type: 'text/markdown',
  },
};

export const FILE_LIST_EXAMPLE = listExample(FILE_EXAMPLE);

export const FILE_DELETED_EXAMPLE: FileDeletedResponseDto = {
  id: EXAMPLE_IDS.file,
  object: 'session.resource.deleted',
  deleted: true,
};

export const COPY_FILES_EXAMPLE = {
  source_session_id: EXAMPLE_IDS.parentSession,
  file_ids: [EXAMPLE_IDS.file],
};

export const FILES_COPIED_EXAMPLE: FilesCopiedResponseDto = {
  object: 'session.files.copied',
  session_id: EXAMPLE_IDS.session,
  mapping: {
    [EXAMPLE_IDS.file]: {
      new_id: 'file_0194f1c2e3a4b5c6d7e8f90000000002',
      filename: 'notes.md',
      content_type: 'text/markdown',
    },
  },
};

const ENTRY = {
  id: 'src/index.ts',
  object: 'session.environment.filesystem.entry',
  name: 'index.ts',
  path: 'src/index.ts',
  type: 'file',
  bytes: 812,
  modified_at: EXAMPLE_TIME,
};

export const ENVIRONMENT_EXAMPLE = {
  id: 'default',
  object: 'session.resource',
  type: 'environment',
  session_id: EXAMPLE_IDS.session,
  name: 'Primary environment',
  metadata: {
    environment_type: 'caller_process',
    role: 'primary',
    sandbox_type: 'none',
    sandbox_active: false,
    root: '/home/alice/project',
    home: '/home/alice/project',
    reachable: { unconfined: false, roots: ['/home/alice/project'] },
  },
};

export const ENVIRONMENT_LIST_EXAMPLE = listExample(ENVIRONMENT_EXAMPLE);

export const RESOURCE_LIST_EXAMPLE = {
  ...listExample<Record<string, unknown>>(ENVIRONMENT_EXAMPLE),
  data: [ENVIRONMENT_EXAMPLE, FILE_EXAMPLE],
  last_id: FILE_EXAMPLE.id,
};

export const CHANGES_EXAMPLE = {
  object: 'list',
  data: [
    {
      object: 'session.environment.filesystem.entry',
      path: 'src/index.ts',
      name: 'index.ts',
      status: 'modified',
    },
  ],
  has_more: false,
};

export const DIRECTORY_LISTING_EXAMPLE = { ...listExample(ENTRY), base: '/home/alice/project' };

export const FILE_CONTENT_EXAMPLE = {
  object: 'session.environment.filesystem.file_content',
  path: 'src/index.ts',
  bytes: 27,
  truncated: false,
  encoding: 'utf-8',
  content: "console.log('hello');\n",
};

export const WRITE_FILE_EXAMPLE = { content: '# Notes\n', encoding: 'utf-8' };

export const WRITE_RESULT_EXAMPLE = {
  object: 'session.environment.filesystem.write_result',
  operation: 'write',
  path: 'notes.md',
  created: true,
  bytes_written: 8,
  entry: { ...ENTRY, id: 'notes.md', name: 'notes.md', path: 'notes.md', bytes: 8 },
};

export const EDIT_FILE_EXAMPLE = { old_text: '# Notes', new_text: '# Project notes' };

export const EDIT_RESULT_EXAMPLE = {
  object: 'session.environment.filesystem.edit_result',
  operation: 'edit',
  path: 'notes.md',
  replacements: 1,
  bytes_before: 8,
  bytes_after: 16,
};

export const DELETE_RESULT_EXAMPLE = {
  object: 'session.environment.filesystem.delete_result',
  operation: 'delete',
  path: 'notes.md',
  deleted: true,
  type: 'file',
  bytes_deleted: 16,
};

export const SEARCH_RESULT_EXAMPLE = {
  object: 'list',
  base: '/home/alice/project',
  data: [ENTRY],
  has_more: false,
  truncated: false,
};

export const SHELL_EXAMPLE = { command: 'ls -la', timeout: 30 };

export const SHELL_RESULT_EXAMPLE = {
  object: 'session.environment.shell_result',
  stdout: 'total 8\n-rw-r--r-- 1 alice alice 16 notes.md\n',
  stderr: '',
  exit_code: 0,
  timed_out: false,
  cwd: '/home/alice/project',
};
