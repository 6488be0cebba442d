import { PolicyEvaluationService } from 'src/modules/policies/policy-evaluation.service';
import { PolicyStateRepository } from 'src/modules/policies/policy-state.repository';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { Methods } from 'src/protocol/runner-protocol';
import { useTestApp } from 'test/e2e/create-app';
import { agentIdByName, clientFor, E2eClient, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { connectFakeRunner, FakeRunner, ReceivedCall } from 'test/utils/fake-runner';
import { insertSubAgentSession, pendingApproval } from 'test/utils/policy-sessions';

const COST = 'omnigent.policies.builtins.cost';

/**
 * The cost policies read what the runner reports when a turn ends (`response.completed`
 * usage, summed per session and per owner and UTC day). A fake runner reports the usage; the
 * verdicts come from the real engine on PostgreSQL.
 */
describe('cost policies (usage reported by the runner)', () => {
  // Each test has its own user (the daily budget sums all of a user's sessions) and runner.
  let alice: E2eClient;
  let runner: FakeRunner;
  let echoId: string;
  const runners: FakeRunner[] = [];
  const seqs = new Map<string, number>();

  const t = useTestApp('postgres', JWT_ENV, {
    listen: true,
    beforeClose: () => Promise.all(runners.map((r) => r.close())),
    timeout: 60_000,
  });
  beforeAll(async () => {
    echoId = await agentIdByName(clientFor(t, uniqueUser('any')), 'echo');
  }, 60_000);

  beforeEach(async () => {
    alice = clientFor(t, uniqueUser('alice'));
    runner = await connectFakeRunner(t.url, {
      token: alice.headers.Authorization.slice('Bearer '.length),
    });
    runners.push(runner);
  });

  async function newSession(policy: { handler: string; factory_params: object }) {
    const session = (await alice.post('/v1/sessions').send({ agent_id: echoId }).expect(201)).body
      .id as string;
    await alice
      .post(`/v1/sessions/${session}/policies`)
      .send({ name: 'budget', type: 'python', ...policy })
      .expect(200);
    return session;
  }

  /** One turn of the session, ended by the runner with `usage`. */
  async function turn(session: string, usage: Record<string, unknown>): Promise<void> {
    const isStart = (c: ReceivedCall) =>
      c.method === Methods.turnStart && c.params.session_id === session;
    const before = runner.received.filter(isStart).length;
    await alice
      .post(`/v1/sessions/${session}/events`)
      .send({
        type: 'message',
        data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
      })
      .expect(202);
    await runner.waitFor((c) => isStart(c) && runner.received.filter(isStart).length > before);
    const turnId = runner.received.filter(isStart)[before].params.turn_id as string;
    const seq = seqs.get(session) ?? 0;
    seqs.set(session, seq + 2);
    const send = (n: number, event: Record<string, unknown>) =>
      runner.notify(Methods.sessionEvent, {
        session_id: session,
        seq: n,
        turn_id: turnId,
        durable: true,
        event,
      });
    send(seq + 1, {
      type: 'response.completed',
      response: { id: turnId, status: 'completed', usage },
    });
    send(seq + 2, { type: 'session.status', status: 'idle' });
    await runner.waitFor(
      (c) =>
        c.method === Methods.sessionAck &&
        c.params.session_id === session &&
        c.params.seq === seq + 2,
    );
  }

  /** A held `evaluate` of a tool call, its approval answered with `action`. */
  async function heldToolCall(session: string, action: 'accept' | 'decline'): Promise<unknown> {
    const held = alice
      .post(`/v1/sessions/${session}/policies/evaluate`)
      .send({ event: { type: 'PHASE_TOOL_CALL', data: { name: 'list_dir', arguments: {} } } })
      .then((res) => res);
    const pending = await pendingApproval(alice, session);
    await alice
      .post(`/v1/sessions/${session}/elicitations/${pending}/resolve`)
      .send({ action })
      .expect(202);
    return (await held).body;
  }

  const toolCall = async (session: string) =>
    t.app
      .get(PolicyEvaluationService)
      .evaluate((await t.app.get(SessionsRepository).getById(session))!, {
        phase: 'tool_call',
        target: 'list_dir',
        data: { name: 'list_dir', arguments: {} },
      });

  it('should ask at a threshold, remember the approval, and deny at the budget', async () => {
    const session = await newSession({
      handler: `${COST}.cost_budget`,
      factory_params: { max_cost_usd: 1, ask_thresholds_usd: [0.5] },
    });
    expect((await toolCall(session)).result).toBe('ALLOW');
    await turn(session, { input_tokens: 100, output_tokens: 20, cost_usd: 0.6 });
    const asked = await toolCall(session);
    expect(asked).toMatchObject({
      result: 'ASK',
      reason: 'budget: The session cost $0.60 crossed $0.50; approve to go on',
    });

    // Approved through the held evaluate call: the threshold is remembered.
    expect(await heldToolCall(session, 'accept')).toEqual({ result: 'POLICY_ACTION_ALLOW' });
    expect((await toolCall(session)).result).toBe('ALLOW');

    await turn(session, { input_tokens: 100, output_tokens: 20, cost_usd: 0.5 });
    expect(await toolCall(session)).toMatchObject({
      result: 'DENY',
      reason: 'The session cost $1.10 reached the budget of $1.00',
    });
  });

  it("should count a sub-agent session's tree usage and keep its approval at the root", async () => {
    const root = await newSession({
      handler: `${COST}.cost_budget`,
      factory_params: { max_cost_usd: 100 },
    });
    const child = await insertSubAgentSession(t, root);
    await alice
      .post(`/v1/sessions/${child}/policies`)
      .send({
        name: 'budget',
        type: 'python',
        handler: `${COST}.cost_budget`,
        factory_params: { ask_thresholds_usd: [0.5] },
      })
      .expect(200);
    // Only the root ran a turn: the child sees the tree's spend.
    await turn(root, { input_tokens: 10, output_tokens: 10, cost_usd: 0.7 });
    expect(await toolCall(child)).toMatchObject({ result: 'ASK' });
    expect(await heldToolCall(child, 'accept')).toEqual({ result: 'POLICY_ACTION_ALLOW' });
    const states = t.app.get(PolicyStateRepository);
    expect((await states.get(root)).state).toMatchObject({ _policy_cost_ask_approved_usd: 0.5 });
    expect((await states.get(child)).state).not.toHaveProperty('_policy_cost_ask_approved_usd');
    expect((await toolCall(child)).result).toBe('ALLOW');
  });

  it('should ask once when the runner reports tokens without a cost', async () => {
    const session = await newSession({
      handler: `${COST}.cost_budget`,
      factory_params: { max_cost_usd: 5 },
    });
    await turn(session, { input_tokens: 30, output_tokens: 12 });
    const asked = await toolCall(session);
    expect(asked.result).toBe('ASK');
    expect(asked.reason).toMatch(/42 tokens were used whose cost is unknown/);
  });

  it("should sum the owner's sessions of the day for user_daily_cost_budget", async () => {
    const daily = {
      handler: `${COST}.user_daily_cost_budget`,
      factory_params: { max_cost_usd: 2, ask_thresholds_usd: [1] },
    };
    const first = await newSession(daily);
    const second = await newSession(daily);
    await turn(first, { input_tokens: 10, output_tokens: 10, cost_usd: 1.5 });
    // The threshold approved in one session covers the owner's other sessions of the day.
    expect(await toolCall(second)).toMatchObject({
      result: 'ASK',
      reason: 'budget: The daily cost $1.50 crossed $1.00; approve to go on',
    });
    expect(await heldToolCall(first, 'accept')).toEqual({ result: 'POLICY_ACTION_ALLOW' });
    expect((await toolCall(second)).result).toBe('ALLOW');
    await turn(second, { input_tokens: 10, output_tokens: 10, cost_usd: 0.75 });
    expect(await toolCall(first)).toMatchObject({
      result: 'DENY',
      reason: 'The daily cost $2.25 reached the budget of $2.00',
    });
  });

  it('should show the priced spend and the last turn tokens on the session snapshot', async () => {
    const session = await newSession({
      handler: `${COST}.cost_budget`,
      factory_params: { max_cost_usd: 100 },
    });
    const snapshot = async () =>
      (await alice.get(`/v1/sessions/${session}`).expect(200)).body as Record<string, unknown>;
    expect(await snapshot()).toMatchObject({ total_cost_usd: null, last_total_tokens: null });
    await turn(session, { input_tokens: 10, output_tokens: 10, cost_usd: 0.25 });
    await turn(session, { input_tokens: 5, output_tokens: 5, cost_usd: 0.5 });
    expect(await snapshot()).toMatchObject({ total_cost_usd: 0.75, last_total_tokens: 10 });
    // An unpriced turn adds no made-up cost (the budget then asks before the next message).
    await turn(session, { input_tokens: 30, output_tokens: 12 });
    expect(await snapshot()).toMatchObject({ total_cost_usd: 0.75, last_total_tokens: 42 });
  });
});
