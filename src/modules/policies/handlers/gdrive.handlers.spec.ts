import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { PolicyEvent } from 'src/modules/policies/engine/policy.types';
import { fileRef } from 'src/modules/policies/handlers/google-workspace.util';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { toolCallEvent } from 'test/factories/policy.factory';

const HANDLER = 'omnigent.policies.builtins.google.gdrive_policy';
const registry = new PolicyRegistryService();
const drive = (params: Record<string, unknown> = {}) =>
  registry.bind({ name: 'drive', handler: HANDLER, factoryParams: params }, 'session');
const call = (
  params: Record<string, unknown>,
  tool: string,
  args: Record<string, unknown> = {},
  state: Record<string, unknown> = {},
) => evaluatePolicies([drive(params)], toolCallEvent(tool, args, state));

function resultOf(
  tool: string,
  args: Record<string, unknown>,
  result: unknown,
  state: Record<string, unknown> = {},
): PolicyEvent {
  return {
    ...toolCallEvent(tool, {}, state, 'tool_result'),
    data: { result: JSON.stringify(result) },
    request_data: { name: tool, arguments: args },
  };
}

describe('google.gdrive_policy', () => {
  it('should allow every read by default and only read_files when read_all is false', () => {
    expect(call({}, 'google__drive_file_get', { file_id: 'x' }).result).toBe('ALLOW');
    const only = { read_all: false, read_files: ['https://docs.google.com/document/d/1Ab/edit'] };
    expect(call(only, 'mcp__google__docs_document_get', { document_id: '1Ab' }).result).toBe(
      'ALLOW',
    );
    expect(call(only, 'google__docs_document_get', { document_id: '2Cd' })).toMatchObject({
      result: 'DENY',
      reason: expect.stringContaining('read allowlist'),
    });
    // A search names no file: it cannot be scoped to the allowlist.
    expect(call(only, 'google__drive_search', { query: 'q' }).result).toBe('DENY');
  });

  it('should deny creating files unless allow_create', () => {
    expect(call({}, 'google__docs_document_create', { title: 't' })).toMatchObject({
      result: 'DENY',
      reason: expect.stringContaining('allow_create'),
    });
    expect(call({ allow_create: true }, 'google__docs_document_create').result).toBe('ALLOW');
  });

  it('should track created files from the create result and then allow writing them', () => {
    const created = evaluatePolicies(
      [drive()],
      resultOf('google__docs_document_create', {}, { documentId: 'new1', title: 't' }),
    );
    expect(created.writes).toEqual([
      { key: 'gdrive_created_file_ids', action: 'append', value: 'new1' },
    ]);
    const state = { gdrive_created_file_ids: ['new1'] };
    const again = evaluatePolicies(
      [drive()],
      resultOf('google__docs_document_create', {}, { document_id: 'new1' }, state),
    );
    expect(again.writes).toEqual([]);
    expect(
      call({}, 'google__docs_document_batch_update', { document_id: 'new1' }, state).result,
    ).toBe('ALLOW');
    expect(
      call({}, 'google__docs_document_batch_update', { document_id: 'old' }, state),
    ).toMatchObject({ result: 'DENY', reason: expect.stringContaining('write scope') });
    expect(
      call({ write_files: ['old'] }, 'google__sheets_values_update', { spreadsheet_id: 'old' })
        .result,
    ).toBe('ALLOW');
    expect(call({ write_files: ['old'] }, 'google__drive_file_update', {}).result).toBe('DENY');
  });

  it('should allow comments only on comment_files and created files', () => {
    const params = { comment_files: ['c1'] };
    expect(call(params, 'google__drive_comment_create', { file_id: 'c1' }).result).toBe('ALLOW');
    expect(call(params, 'google__drive_comment_create', { file_id: 'c2' })).toMatchObject({
      result: 'DENY',
      reason: expect.stringContaining('comment allowlist'),
    });
  });

  it('should deny unknown Drive tools and leave other services alone', () => {
    expect(call({}, 'google__drive_permission_create', { file_id: 'x' }).result).toBe('DENY');
    expect(call({}, 'google__gmail_message_send').result).toBe('ALLOW');
    expect(call({}, 'read_file', { path: 'a' }).result).toBe('ALLOW');
  });

  describe('no write-down (confidential_files)', () => {
    const params = { confidential_files: ['sec'], write_files: ['sec', 'pub'], allow_create: true };
    const latched = { gdrive_read_confidential: true };

    it('should latch when a confidential file is read, not for other reads', () => {
      const read = (id: string) =>
        evaluatePolicies(
          [drive(params)],
          resultOf('google__docs_document_get', { document_id: id }, {}),
        ).writes;
      expect(read('sec')).toEqual([
        { key: 'gdrive_read_confidential', action: 'set', value: true },
      ]);
      expect(read('pub')).toEqual([]);
    });

    it('should deny writes, comments and creates outside the compartment once latched', () => {
      expect(call(params, 'google__sheets_values_update', { spreadsheet_id: 'pub' }).result).toBe(
        'ALLOW',
      );
      expect(
        call(params, 'google__sheets_values_update', { spreadsheet_id: 'pub' }, latched),
      ).toMatchObject({
        result: 'DENY',
        reason: expect.stringContaining('no write-down'),
      });
      expect(call(params, 'google__docs_document_create', {}, latched).result).toBe('DENY');
      expect(
        call(params, 'google__sheets_values_update', { spreadsheet_id: 'sec' }, latched).result,
      ).toBe('ALLOW');
    });

    it('should ask instead when write_down_action is ASK, and refuse other actions', () => {
      const asking = { ...params, write_down_action: 'ASK' };
      expect(call(asking, 'google__drive_file_update', { file_id: 'pub' }, latched).result).toBe(
        'ASK',
      );
      expect(() => registry.validateParams(HANDLER, { write_down_action: 'WARN' })).toThrow(
        /write_down_action must be equal to one of the allowed values/,
      );
    });
  });

  it('should reduce Google URLs to their file id', () => {
    expect(fileRef('https://docs.google.com/spreadsheets/d/AbC_1-x/edit#gid=0')).toBe('AbC_1-x');
    expect(fileRef('https://drive.google.com/open?id=Q9')).toBe('Q9');
    expect(fileRef(' bare ')).toBe('bare');
  });
});
