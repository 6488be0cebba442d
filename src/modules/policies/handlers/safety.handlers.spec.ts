import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { toolCallEvent } from 'test/factories/policy.factory';

const SAFETY = 'omnigent.policies.builtins.safety';
const registry = new PolicyRegistryService();
const policy = (fn: string, params?: Record<string, unknown>) =>
  registry.bind({ name: fn, handler: `${SAFETY}.${fn}`, factoryParams: params }, 'session');

describe('safety handlers', () => {
  describe('max_tool_calls_per_session', () => {
    it('should allow `limit` calls and deny the next with its reason', () => {
      const p = policy('max_tool_calls_per_session', { limit: 1 });
      const first = evaluatePolicies([p], toolCallEvent('shell'));
      expect(first.result).toBe('ALLOW');
      expect(first.writes).toEqual([
        { key: '_policy_tool_call_count', action: 'increment', value: 1 },
      ]);
      const second = evaluatePolicies(
        [p],
        toolCallEvent('shell', {}, { _policy_tool_call_count: 1 }),
      );
      expect(second).toMatchObject({
        result: 'DENY',
        reason: 'Exceeded 1 tool calls this session',
      });
    });

    it('should default the limit to 100', () => {
      const p = policy('max_tool_calls_per_session');
      expect(
        evaluatePolicies([p], toolCallEvent('x', {}, { _policy_tool_call_count: 99 })).result,
      ).toBe('ALLOW');
      expect(
        evaluatePolicies([p], toolCallEvent('x', {}, { _policy_tool_call_count: 100 })).result,
      ).toBe('DENY');
    });
  });

  describe('ask_on_os_tools', () => {
    it.each(['shell', 'write_file', 'read_file', 'list_dir', 'edit_file', 'Bash', 'sys_os_shell'])(
      'should ask before %s',
      (tool) => {
        expect(evaluatePolicies([policy('ask_on_os_tools')], toolCallEvent(tool)).result).toBe(
          'ASK',
        );
      },
    );

    it('should show the command in the reason', () => {
      const result = evaluatePolicies(
        [policy('ask_on_os_tools')],
        toolCallEvent('shell', { command: 'touch /tmp/x' }),
      );
      expect(result.reason).toBe('ask_on_os_tools: Allow shell: touch /tmp/x?');
    });

    it('should abstain on other tools and phases', () => {
      expect(evaluatePolicies([policy('ask_on_os_tools')], toolCallEvent('lookup')).result).toBe(
        'ALLOW',
      );
      expect(
        evaluatePolicies([policy('ask_on_os_tools')], toolCallEvent('shell', {}, {}, 'request'))
          .result,
      ).toBe('ALLOW');
    });
  });

  describe('detect_loop', () => {
    it('should ask when identical calls reach the threshold, whatever the key order', () => {
      const p = policy('detect_loop', { threshold: 2, window: 5 });
      const first = evaluatePolicies([p], toolCallEvent('shell', { a: 1, b: 2 }));
      expect(first.result).toBe('ALLOW');
      const hashes = first.writes[0].value;
      const second = evaluatePolicies(
        [p],
        toolCallEvent('shell', { b: 2, a: 1 }, { _policy_loop_recent_hashes: hashes }),
      );
      expect(second.result).toBe('ASK');
      const other = evaluatePolicies(
        [p],
        toolCallEvent('shell', { a: 2 }, { _policy_loop_recent_hashes: hashes }),
      );
      expect(other.result).toBe('ALLOW');
    });
  });

  describe('block_skills', () => {
    const p = () => policy('block_skills', { blocked: ['Deploy'] });
    it('should deny a blocked skill case-insensitively', () => {
      expect(evaluatePolicies([p()], toolCallEvent('load_skill', { name: 'deploy' })).result).toBe(
        'DENY',
      );
      expect(evaluatePolicies([p()], toolCallEvent('Skill', { skill: 'DEPLOY' })).result).toBe(
        'DENY',
      );
      expect(evaluatePolicies([p()], toolCallEvent('load_skill', { name: 'review' })).result).toBe(
        'ALLOW',
      );
    });

    it('should deny a blocked slash command in a user message', () => {
      const event = { ...toolCallEvent('x'), type: 'request' as const, target: null };
      expect(
        evaluatePolicies([p()], {
          ...event,
          data: { user_content: '/deploy now', attachments: [] },
        }).result,
      ).toBe('DENY');
    });
  });

  describe('deny_pii_in_llm_request', () => {
    const request = (text: string) => ({
      ...toolCallEvent('x'),
      type: 'request' as const,
      target: null,
      data: { user_content: text, attachments: [] },
    });

    it.each([
      ['ssn', 'my ssn is 123-45-6789'],
      ['email', 'write to jane.doe@example.com'],
      ['credit card', 'card 4111 1111 1111 1111'],
      ['phone', 'call (555) 123-4567'],
    ])('should deny a %s and mask it', (_kind, text) => {
      const result = evaluatePolicies([policy('deny_pii_in_llm_request')], request(text));
      expect(result.result).toBe('DENY');
      expect(result.reason).not.toMatch(/\d{4}|example/);
    });

    it('should honour pii_types and action', () => {
      const p = policy('deny_pii_in_llm_request', { pii_types: ['ssn'], action: 'ASK' });
      expect(evaluatePolicies([p], request('jane@example.com')).result).toBe('ALLOW');
      expect(evaluatePolicies([p], request('123-45-6789')).result).toBe('ASK');
    });
  });
});
