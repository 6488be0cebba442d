import { Methods } from 'src/protocol/runner-protocol';
import { useTestApp } from 'test/e2e/create-app';
import { agentIdByName, clientFor, E2eClient, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { connectFakeRunner, FakeRunner, ReceivedCall } from 'test/utils/fake-runner';

const MAX_CALLS = 'omnigent.policies.builtins.safety.max_tool_calls_per_session';

/**
 * The tool-call hot path (issue #8): a runner calls `tool.authorize` only while the session has
 * a tool_call policy. It learns that with `session.init`, with every `turn.start`, and by a
 * `session.update` pushed before a policy change is answered (so a policy attached mid-session
 * applies to the very next tool call). The embedded database: server-wide policies that other
 * test files add on the shared one would change the flags.
 */
describe('policy flags reach the runner', () => {
  let alice: E2eClient;
  let runner: FakeRunner;
  // Alice is an admin too: server-wide changes must reach her running turns.
  const aliceId = uniqueUser('alice');

  const t = useTestApp(
    'embedded',
    { ...JWT_ENV, OMNIGENT_ADMINS: aliceId },
    { listen: true, beforeClose: () => runner?.close(), timeout: 60_000 },
  );
  beforeAll(async () => {
    alice = clientFor(t, aliceId);
    runner = await connectFakeRunner(t.url, {
      token: alice.headers.Authorization.slice('Bearer '.length),
    });
  }, 60_000);

  const policyOf = (call: ReceivedCall) => call.params.policy as Record<string, boolean>;
  const say = (sessionId: string, text: string) =>
    alice
      .post(`/v1/sessions/${sessionId}/events`)
      .send({ type: 'message', data: { role: 'user', content: [{ type: 'input_text', text }] } })
      .expect(202);

  it('should skip authorize without tool_call policies and push the flag when one is attached', async () => {
    const echoId = await agentIdByName(alice, 'echo');
    const session = (await alice.post('/v1/sessions').send({ agent_id: echoId }).expect(201))
      .body as { id: string; runner_id: string };
    expect(session.runner_id).toBe(runner.runnerId);
    const forSession = (method: string) => (c: ReceivedCall) =>
      c.method === method && c.params.session_id === session.id;

    await say(session.id, 'first');
    const firstTurn = await runner.waitFor(forSession(Methods.turnStart));
    expect(policyOf(firstTurn)).toEqual({ tool_call: false, tool_result: false });
    const init = runner.received.find(forSession(Methods.sessionInit));
    expect(init && policyOf(init)).toEqual({ tool_call: false, tool_result: false });

    const attached = await alice
      .post(`/v1/sessions/${session.id}/policies`)
      .send({ name: 'limit', type: 'python', handler: MAX_CALLS, factory_params: { limit: 5 } })
      .expect(200);
    // Pushed before the attach was answered.
    const update = runner.received.find(
      (c) => forSession(Methods.sessionUpdate)(c) && c.params.policy !== undefined,
    );
    expect(update && policyOf(update)).toEqual({ tool_call: true, tool_result: false });

    const turns = () => runner.received.filter(forSession(Methods.turnStart)).length;
    await say(session.id, 'second');
    await runner.waitFor((c) => forSession(Methods.turnStart)(c) && turns() === 2);
    const secondTurn = runner.received.filter(forSession(Methods.turnStart))[1];
    expect(policyOf(secondTurn)).toEqual({ tool_call: true, tool_result: false });

    await alice
      .delete(`/v1/sessions/${session.id}/policies/${attached.body.id as string}`)
      .expect(200);
    const updates = runner.received.filter(
      (c) => forSession(Methods.sessionUpdate)(c) && c.params.policy !== undefined,
    );
    expect(policyOf(updates[updates.length - 1])).toEqual({
      tool_call: false,
      tool_result: false,
    });
  });

  it('should push a server-wide policy change to a turn that is running', async () => {
    const echoId = await agentIdByName(alice, 'echo');
    const session = (await alice.post('/v1/sessions').send({ agent_id: echoId }).expect(201))
      .body as { id: string };
    const updates = () =>
      runner.received.filter(
        (c) =>
          c.method === Methods.sessionUpdate &&
          c.params.session_id === session.id &&
          c.params.policy !== undefined,
      );
    await say(session.id, 'a turn the runner never ends');
    const start = await runner.waitFor(
      (c) => c.method === Methods.turnStart && c.params.session_id === session.id,
    );
    expect(policyOf(start)).toEqual({ tool_call: false, tool_result: false });

    const created = await alice
      .post('/v1/policies')
      .send({ name: `cap_${Date.now()}`, type: 'python', handler: MAX_CALLS })
      .expect(200);
    // Pushed before the change was answered.
    expect(updates().map(policyOf)).toEqual([{ tool_call: true, tool_result: false }]);

    await alice.delete(`/v1/policies/${created.body.id as string}`).expect(200);
    expect(updates().map(policyOf)).toEqual([
      { tool_call: true, tool_result: false },
      { tool_call: false, tool_result: false },
    ]);
  });
});
