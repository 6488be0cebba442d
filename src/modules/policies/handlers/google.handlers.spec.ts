import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { PolicyEvent } from 'src/modules/policies/engine/policy.types';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { toolCallEvent } from 'test/factories/policy.factory';

const GOOGLE = 'omnigent.policies.builtins.google';
const registry = new PolicyRegistryService();
const verdict = (
  handler: string,
  params: Record<string, unknown>,
  tool: string,
  args: Record<string, unknown> = {},
  state: Record<string, unknown> = {},
) =>
  evaluatePolicies(
    [
      registry.bind(
        { name: 'g', handler: `${GOOGLE}.${handler}`, factoryParams: params },
        'session',
      ),
    ],
    toolCallEvent(tool, args, state),
  );

describe('google.gmail_policy', () => {
  const gmail = (tool: string, params: Record<string, unknown> = {}, args = {}, state = {}) =>
    verdict('gmail_policy', params, tool, args, state);

  it('should allow reading and drafting and deny sending and modifying by default', () => {
    expect(gmail('google__gmail_message_get').result).toBe('ALLOW');
    expect(gmail('google__gmail_draft_create').result).toBe('ALLOW');
    expect(gmail('mcp__google__gmail_message_send')).toMatchObject({
      result: 'DENY',
      reason: expect.stringContaining('allow_send'),
    });
    expect(gmail('google__gmail_thread_modify').reason).toContain('allow_modify');
    expect(gmail('google__gmail_message_send', { allow_send: true }).result).toBe('ALLOW');
    expect(gmail('google__gmail_search', { allow_read: false }).reason).toContain('allow_read');
    expect(gmail('google__gmail_draft_create', { allow_drafts: false }).result).toBe('DENY');
  });

  it('should track created drafts and allow editing only those', () => {
    const result: PolicyEvent = {
      ...toolCallEvent('google__gmail_draft_create', {}, {}, 'tool_result'),
      data: { result: JSON.stringify({ id: 'd1', message: { threadId: 't' } }) },
    };
    const policy = registry.bind({ name: 'g', handler: `${GOOGLE}.gmail_policy` }, 'session');
    expect(evaluatePolicies([policy], result).writes).toEqual([
      { key: 'gmail_created_draft_ids', action: 'append', value: 'd1' },
    ]);
    const state = { gmail_created_draft_ids: ['d1'] };
    expect(gmail('google__gmail_draft_update', {}, { draft_id: 'd1' }, state).result).toBe('ALLOW');
    expect(gmail('google__gmail_draft_delete', {}, { draft_id: 'd2' }, state)).toMatchObject({
      result: 'DENY',
      reason: expect.stringContaining('own drafts'),
    });
  });

  it('should deny unknown Gmail tools and abstain on other tools', () => {
    expect(gmail('google__gmail_filter_create').result).toBe('DENY');
    expect(gmail('google__calendar_event_create').result).toBe('ALLOW');
  });
});

describe('google.gcalendar_policy', () => {
  const calendar = (tool: string, params: Record<string, unknown> = {}) =>
    verdict('gcalendar_policy', params, tool);

  it('should be read-only by default', () => {
    expect(calendar('google__calendar_event_list').result).toBe('ALLOW');
    expect(calendar('google__calendar_event_create')).toMatchObject({
      result: 'DENY',
      reason: expect.stringContaining('allow_create_events'),
    });
    expect(calendar('google__calendar_event_delete').reason).toContain('allow_modify_events');
    expect(calendar('google__calendar_acl_insert').result).toBe('DENY');
    expect(calendar('google__drive_file_get').result).toBe('ALLOW');
  });

  it('should allow what its flags turn on, and use deny_reason and tool_prefixes', () => {
    expect(calendar('google__calendar_event_create', { allow_create_events: true }).result).toBe(
      'ALLOW',
    );
    expect(calendar('google__calendar_event_update', { allow_modify_events: true }).result).toBe(
      'ALLOW',
    );
    const custom = { tool_prefixes: ['gws-'], deny_reason: 'No.', allow_read: false };
    expect(calendar('gws-calendar_event_get', custom)).toMatchObject({
      result: 'DENY',
      reason: 'No. allow_read: reading the calendar is not allowed.',
    });
  });
});
