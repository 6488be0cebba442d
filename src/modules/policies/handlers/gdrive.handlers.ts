import {
  PolicyDecision,
  PolicyEvent,
  PolicyHandlerDef,
  StateUpdate,
} from 'src/modules/policies/engine/policy.types';
import {
  allIn,
  appendNew,
  argIds,
  commonGoogleParams,
  fileRefs,
  googleCall,
  idList,
  resultIds,
  trackedIds,
} from 'src/modules/policies/handlers/google-workspace.util';

/** session_state keys (upstream's): files created this session, and the confidential-read latch. */
export const CREATED_FILES_KEY = 'gdrive_created_file_ids';
export const READ_CONFIDENTIAL_KEY = 'gdrive_read_confidential';

const FILE_ID_ARGS = ['document_id', 'file_id', 'spreadsheet_id', 'presentation_id'];
const CREATED_ID_KEYS = new Set([
  'id',
  'documentId',
  'spreadsheetId',
  'presentationId',
  'fileId',
  ...FILE_ID_ARGS,
]);
// Upstream's Google Workspace MCP vocabulary (canonical names, server prefix stripped).
const READ = new Set([
  'docs_document_get',
  'docs_document_list',
  'docs_document_inspect_structure',
  'docs_document_export',
  'docs_document_export_as_markdown',
  'docs_document_search',
  'drive_search',
  'drive_file_get',
  'drive_file_list',
  'drive_file_export',
  'drive_comment_list',
  'drive_comment_get',
  'sheets_search',
  'sheets_spreadsheet_get',
  'sheets_values_get',
  'sheets_values_batch_get',
  'sheets_grid_data_get',
  'slides_search',
  'slides_presentation_get',
  'slides_page_get',
]);
const CREATE = new Set([
  'docs_document_create',
  'docs_document_create_from_markdown',
  'drive_file_create',
  'sheets_spreadsheet_create',
  'slides_presentation_create',
]);
const COMMENT = new Set(['drive_comment_create', 'drive_comment_reply_create']);
const WRITE = new Set([
  'docs_document_batch_update',
  'docs_document_edit_section',
  'docs_document_apply_template_styles',
  'drive_file_update',
  'drive_file_delete',
  'drive_file_copy',
  'sheets_values_update',
  'sheets_values_append',
  'sheets_spreadsheet_batch_update',
  'slides_presentation_batch_update',
]);
const OWNED = ['docs_', 'drive_', 'sheets_', 'slides_'];

interface DriveConfig {
  readAll: boolean;
  read: Set<string>;
  write: Set<string>;
  comment: Set<string>;
  confidential: Set<string>;
  allowCreate: boolean;
  writeDownAction: 'DENY' | 'ASK';
  denyReason: string;
  prefixes: string[];
}

/**
 * Bell-LaPadula "no write-down": once the session has read a confidential file, a write,
 * comment or create outside the confidential set gets `write_down_action`.
 */
function writeDown(event: PolicyEvent, targets: Set<string>, c: DriveConfig) {
  if (c.confidential.size === 0 || event.session_state[READ_CONFIDENTIAL_KEY] !== true) {
    return undefined;
  }
  if (allIn(targets, c.confidential)) {
    return undefined;
  }
  return {
    result: c.writeDownAction,
    reason:
      `${c.denyReason} no write-down: this session read a confidential file, so it may ` +
      'only write to confidential files; this target is outside them.',
  } satisfies PolicyDecision;
}

function driveCall(event: PolicyEvent, c: DriveConfig): PolicyDecision | undefined {
  const { raw, tool, args } = googleCall(event, c.prefixes);
  const targets = argIds(args, FILE_ID_ARGS);
  const deny = (why: string): PolicyDecision => ({
    result: 'DENY',
    reason: `${c.denyReason} ${why}`,
  });
  if (READ.has(tool)) {
    return c.readAll || allIn(targets, c.read)
      ? undefined
      : deny('read allowlist: the call reads a file outside read_files (or names none).');
  }
  if (CREATE.has(tool) || COMMENT.has(tool) || WRITE.has(tool)) {
    const leak = writeDown(event, targets, c);
    if (leak) {
      return leak;
    }
  }
  const created = trackedIds(event, CREATED_FILES_KEY);
  if (CREATE.has(tool)) {
    return c.allowCreate ? undefined : deny('allow_create: creating files is not allowed.');
  }
  if (COMMENT.has(tool)) {
    return allIn(targets, c.comment, created)
      ? undefined
      : deny('comment allowlist: comments only on comment_files or files created this session.');
  }
  if (WRITE.has(tool)) {
    return allIn(targets, c.write, created)
      ? undefined
      : deny('write scope: writes only to files created this session or listed in write_files.');
  }
  return OWNED.some((p) => tool.startsWith(p))
    ? deny(`unknown Drive tool '${raw}' is not allowed.`)
    : undefined;
}

/** Tracks created files and, for a confidential read, sets the latch. */
function driveResult(event: PolicyEvent, c: DriveConfig): PolicyDecision | undefined {
  const { tool } = googleCall(event, c.prefixes);
  const updates: StateUpdate[] = CREATE.has(tool)
    ? appendNew(event, CREATED_FILES_KEY, resultIds(event, CREATED_ID_KEYS))
    : [];
  if (READ.has(tool) && c.confidential.size > 0 && !event.session_state[READ_CONFIDENTIAL_KEY]) {
    const request = event.request_data as { arguments?: unknown } | undefined;
    const args = request?.arguments;
    const read = argIds(
      args && typeof args === 'object' ? (args as Record<string, unknown>) : {},
      FILE_ID_ARGS,
    );
    if ([...read].some((id) => c.confidential.has(id))) {
      updates.push({ key: READ_CONFIDENTIAL_KEY, action: 'set', value: true });
    }
  }
  return updates.length > 0 ? { result: 'ALLOW', state_updates: updates } : undefined;
}

const gdrivePolicy: PolicyHandlerDef = {
  id: 'omnigent.policies.builtins.google.gdrive_policy',
  kind: 'factory',
  name: 'Google Drive / Docs / Sheets Access',
  description:
    'Google Drive, Docs, Sheets and Slides through a Google Workspace MCP server (upstream’s ' +
    'tool names, e.g. google__drive_file_get, docs_document_batch_update). Reads: all, or ' +
    'only read_files when read_all is false. Creating needs allow_create. Writes only to files ' +
    'created this session (tracked from the create results in session_state ' +
    '`gdrive_created_file_ids`) or in write_files; comments only on those or comment_files. ' +
    'With confidential_files set, Bell-LaPadula "no write-down": once the session reads a ' +
    'confidential file by id, writes outside that set get write_down_action. Other Drive ' +
    'tools are denied; non-Drive tools are left alone. Ids may be given as Google URLs.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      read_all: { type: 'boolean', default: true },
      read_files: idList('Files readable when read_all is false.'),
      allow_create: { type: 'boolean', default: false },
      write_files: idList('Existing files that may be written.'),
      comment_files: idList('Files that may be commented on.'),
      confidential_files: idList('The confidential compartment (enables no write-down).'),
      write_down_action: { type: 'string', enum: ['DENY', 'ASK'], default: 'DENY' },
      ...commonGoogleParams('Google Drive operation blocked by policy:'),
    },
  },
  phases: ['tool_call', 'tool_result'],
  create: (params) => {
    const list = (key: string) => fileRefs(params[key] as string[]);
    const config: DriveConfig = {
      readAll: params.read_all as boolean,
      read: list('read_files'),
      write: list('write_files'),
      comment: list('comment_files'),
      confidential: list('confidential_files'),
      allowCreate: params.allow_create as boolean,
      writeDownAction: params.write_down_action as 'DENY' | 'ASK',
      denyReason: params.deny_reason as string,
      prefixes: params.tool_prefixes as string[],
    };
    return (event) =>
      event.type === 'tool_call' ? driveCall(event, config) : driveResult(event, config);
  },
};

export const GDRIVE_HANDLERS: PolicyHandlerDef[] = [gdrivePolicy];
