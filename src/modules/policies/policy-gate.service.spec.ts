import { BoundPolicy } from 'src/modules/policies/engine/policy.types';
import { ElicitationsService } from 'src/modules/policies/elicitations.service';
import {
  ALLOW_NO_POLICY,
  Evaluation,
  PolicyEvaluationService,
} from 'src/modules/policies/policy-evaluation.service';
import { PolicyGateService } from 'src/modules/policies/policy-gate.service';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

const evaluation = (overrides: Partial<Evaluation>): Evaluation => ({
  ...ALLOW_NO_POLICY,
  ...overrides,
});

describe(PolicyGateService.name, () => {
  let t: TestService<PolicyGateService>;
  const session = sessionEntityFactory();
  const assistant = { role: 'assistant', content: [{ type: 'output_text', text: 'my SSN is 1' }] };

  beforeEach(() => {
    t = newTestService(PolicyGateService);
  });

  describe('flags', () => {
    it('should ask for tool.authorize only when a tool_call policy applies', async () => {
      const phases = t.mock(PolicyEvaluationService).phasesFor;
      phases.mockResolvedValueOnce(new Set());
      expect(await t.sut.flags(session)).toEqual({ tool_call: false, tool_result: false });
      phases.mockResolvedValueOnce(new Set(['tool_call', 'request'] as const));
      expect(await t.sut.flags(session)).toEqual({ tool_call: true, tool_result: false });
      phases.mockResolvedValueOnce(new Set(['tool_result'] as const));
      expect(await t.sut.flags(session)).toEqual({ tool_call: false, tool_result: true });
    });
  });

  describe('requestGateIsOpen', () => {
    const bound = (phases: BoundPolicy['phases']) => ({ phases }) as BoundPolicy;
    const resolved = (policies: BoundPolicy[]) => ({
      policies,
      labelDecls: {},
      model: null,
      askTimeoutS: null,
    });

    it('should be open when the cache knows no policy acts on the request phase', () => {
      const cached = t.mock(PolicyEvaluationService).cachedPoliciesFor;
      cached.mockReturnValue(resolved([bound(['tool_call']), bound(['response'])]));
      expect(t.sut.requestGateIsOpen(session)).toBe(true);
      expect(cached).toHaveBeenCalledWith(session);
      expect(t.mock(PolicyEvaluationService).evaluate).not.toHaveBeenCalled();
    });

    it('should not be open when a policy acts on the request phase, or the cache cannot tell', () => {
      const cached = t.mock(PolicyEvaluationService).cachedPoliciesFor;
      cached.mockReturnValue(resolved([bound(['tool_call']), bound(['request', 'response'])]));
      expect(t.sut.requestGateIsOpen(session)).toBe(false);
      cached.mockReturnValue(undefined);
      expect(t.sut.requestGateIsOpen(session)).toBe(false);
    });
  });

  describe('gateResponse', () => {
    it('should evaluate the response phase on the message text and allow it unchanged', async () => {
      const evaluate = t.mock(PolicyEvaluationService).evaluate.mockResolvedValue(evaluation({}));
      expect(await t.sut.gateResponse(session, assistant)).toEqual({
        decision: 'allow',
        data: assistant,
      });
      expect(evaluate).toHaveBeenCalledWith(session, { phase: 'response', data: 'my SSN is 1' });
    });

    it('should deny with the reason and announce response.policy_denied', async () => {
      t.mock(PolicyEvaluationService).evaluate.mockResolvedValue(
        evaluation({ result: 'DENY', reason: 'no PII', deciding: ['pii'] }),
      );
      const emit = jest.fn();
      t.mock(SessionEventsService).locked.mockImplementation(async (_id, work) =>
        work({ emit } as unknown as LockedSession),
      );
      expect(await t.sut.gateResponse(session, assistant)).toEqual({
        decision: 'deny',
        reason: 'no PII',
      });
      expect(emit).toHaveBeenCalledWith('response.policy_denied', {
        conversation_id: session.id,
        phase: 'response',
        reason: 'no PII',
      });
    });

    it('should store the text a policy rewrote', async () => {
      t.mock(PolicyEvaluationService).evaluate.mockResolvedValue(
        evaluation({ data: 'my SSN is [redacted]' }),
      );
      expect(await t.sut.gateResponse(session, assistant)).toEqual({
        decision: 'allow',
        data: {
          role: 'assistant',
          content: [{ type: 'output_text', text: 'my SSN is [redacted]' }],
        },
      });
    });

    it('should fail open when the evaluation fails', async () => {
      t.mock(PolicyEvaluationService).evaluate.mockRejectedValue(new Error('db down'));
      expect(await t.sut.gateResponse(session, assistant)).toEqual({
        decision: 'allow',
        data: assistant,
      });
    });
  });

  describe('resolveApproval', () => {
    it('should resolve like the resolve route', async () => {
      const resolve = t.mock(ElicitationsService).resolve.mockResolvedValue({ queued: false });
      const auth = { userId: 'alice', isAdmin: false } as never;
      expect(
        await t.sut.resolveApproval(auth, session, {
          elicitationId: 'elicit_1',
          action: 'decline',
          content: null,
        }),
      ).toEqual({ queued: false });
      expect(resolve).toHaveBeenCalledWith(auth, session.id, 'elicit_1', {
        action: 'decline',
        content: null,
      });
    });
  });
});
