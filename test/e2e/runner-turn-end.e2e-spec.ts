import { Methods } from 'src/protocol/runner-protocol';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { useTestApp } from 'test/e2e/create-app';
import { agentIdByName, clientFor, E2eClient, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { connectFakeRunner, FakeRunner } from 'test/utils/fake-runner';
import { sleep } from 'test/utils/http-api';
import { openSse, SseConnection } from 'test/utils/sse-client';

const TERMINALS = [
  'response.completed',
  'response.failed',
  'response.incomplete',
  'response.cancelled',
];

/**
 * Issue 16, finding 4: a turn always ends with exactly one terminal event. A runner that crashed
 * and came back within the grace left the turn `running` forever; a turn the server had failed
 * was later reported `response.completed` as well.
 */
describe('turn termination (finding 4)', () => {
  let alice: E2eClient;
  let token: string;
  let echoId: string;
  const runners: FakeRunner[] = [];
  const streams: SseConnection[] = [];

  const t = useTestApp('postgres', JWT_ENV, {
    listen: true,
    beforeClose: async () => {
      streams.forEach((s) => s.close());
      await Promise.all(runners.map((r) => r.close()));
    },
  });
  beforeAll(async () => {
    alice = clientFor(t, uniqueUser('alice'));
    token = alice.headers.Authorization.slice('Bearer '.length);
    echoId = await agentIdByName(alice, 'echo');
  });

  const connect = async (runnerId?: string) => {
    const runner = await connectFakeRunner(t.url, { token, runnerId });
    runners.push(runner);
    return runner;
  };
  /** A new session on the runner, its stream open, and a turn the runner was asked to start. */
  const startTurn = async (runner: FakeRunner, { bind = false } = {}) => {
    const session = (await alice.post('/v1/sessions').send({ agent_id: echoId }).expect(201)).body;
    if (bind) {
      await alice
        .patch(`/v1/sessions/${session.id}`)
        .send({ runner_id: runner.runnerId })
        .expect(200);
    }
    const stream = await openSse(t.url, `/v1/sessions/${session.id}/stream`, alice.headers);
    streams.push(stream);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    await alice
      .post(`/v1/sessions/${session.id}/events`)
      .send({
        type: 'message',
        data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
      })
      .expect(202);
    const start = await runner.waitFor((c) => c.method === Methods.turnStart);
    return { session, stream, turnId: start.params.turn_id as string };
  };
  const terminalsOf = (stream: SseConnection, turnId: string) =>
    stream.frames.filter(
      (f) =>
        TERMINALS.includes(f.event ?? '') &&
        (f.json?.response as { id?: string } | undefined)?.id === turnId,
    );

  it('should fail a turn once when its runner restarts within the grace, and drop a late completion', async () => {
    const first = await connect();
    const { session, stream, turnId } = await startTurn(first);
    const created = { type: 'response.created', response: { id: turnId, status: 'in_progress' } };
    first.sendEvent(session.id, 1, created, turnId);

    // A crash, and a restarted runner under the same id that holds nothing.
    await first.close();
    const again = await connect(first.runnerId);
    await stream.waitFor((f) => f.event === 'response.failed', 10_000, 'response.failed');
    await stream.waitFor(
      (f) => f.event === 'session.status' && f.json?.status === 'failed',
      10_000,
      'session.status failed',
    );

    // A late completion of the same turn (an outbox replayed after the failure) changes nothing.
    const completed = { type: 'response.completed', response: { id: turnId, status: 'completed' } };
    again.sendEvent(session.id, 2, completed, turnId);
    await again.waitFor((c) => c.method === Methods.sessionAck && c.params.seq === 2);
    await sleep(200);
    expect(terminalsOf(stream, turnId).map((f) => f.event)).toEqual(['response.failed']);
    const items = await alice.get(`/v1/sessions/${session.id}/items`).expect(200);
    expect(items.body.data.map((i: { type: string }) => i.type)).toEqual(['message', 'error']);
    expect(items.body.data[1]).toMatchObject({ response_id: turnId, code: 'runner_restarted' });
    await again.close();
  });

  it('should let a runner that reconnects holding its turn finish it, once', async () => {
    const first = await connect();
    const { session, stream, turnId } = await startTurn(first);
    expect(session.runner_id).toBe(first.runnerId);
    await first.close();

    // A network blip: the same runner comes back holding the session and its turn.
    const resumed = await connectFakeRunner(t.url, {
      token,
      runnerId: first.runnerId,
      sessions: [
        {
          session_id: session.id,
          next_seq: 1,
          turn: { turn_id: turnId, state: 'running' },
          parked_elicitations: [],
        },
      ],
    });
    runners.push(resumed);
    const completed = { type: 'response.completed', response: { id: turnId, status: 'completed' } };
    resumed.sendEvent(session.id, 1, completed, turnId);
    resumed.sendEvent(session.id, 2, completed, turnId);
    resumed.sendEvent(session.id, 3, { type: 'session.status', status: 'idle' }, turnId);
    await stream.waitFor((f) => f.event === 'session.status' && f.json?.status === 'idle');
    expect(terminalsOf(stream, turnId).map((f) => f.event)).toEqual(['response.completed']);
    expect(stream.frames.some((f) => f.event === 'response.failed')).toBe(false);
  });

  // The fault suite's dropped database connections: a terminal event whose unit of work hit a
  // terminated connection was logged and dropped (never acknowledged, so the runner kept it for
  // a reconnect that never came), and the session stayed running.
  it('should apply a turn end whose ingest hit a dropped database connection', async () => {
    const runner = await connect();
    const { session, stream, turnId } = await startTurn(runner, { bind: true });

    // The next unit of work of this session fails as a terminated connection does.
    const events = t.app.get(SessionEventsService);
    const locked = events.locked.bind(events);
    let dropped = 0;
    const spy = jest.spyOn(events, 'locked').mockImplementation((sessionId, work) => {
      if (sessionId === session.id && dropped === 0) {
        dropped += 1;
        return Promise.reject(
          Object.assign(new Error('terminating connection due to administrator command'), {
            code: '57P01',
          }),
        );
      }
      return locked(sessionId, work);
    });
    const completed = { type: 'response.completed', response: { id: turnId, status: 'completed' } };
    runner.sendEvent(session.id, 1, completed, turnId);
    runner.sendEvent(session.id, 2, { type: 'session.status', status: 'idle' }, turnId);
    try {
      await stream.waitFor(
        (f) => f.event === 'session.status' && f.json?.status === 'idle',
        10_000,
        'session.status idle',
      );
      await runner.waitFor((c) => c.method === Methods.sessionAck && c.params.seq === 2);
    } finally {
      spy.mockRestore();
    }
    expect(dropped).toBe(1);
    expect(terminalsOf(stream, turnId).map((f) => f.event)).toEqual(['response.completed']);
  });
});
