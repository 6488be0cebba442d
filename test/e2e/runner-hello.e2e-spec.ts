import { DataSource } from 'typeorm';

import { IdPrefix, newId } from 'src/common/ids/ids';
import { Methods } from 'src/protocol/runner-protocol';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { RunnerEventsHandler } from 'src/modules/sessions/turns/runner-events.handler';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import { useTestApp } from 'test/e2e/create-app';
import { agentIdByName, clientFor, E2eClient, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import {
  connectFakeRunner,
  FakeRunner,
  initOnDemandAnswer,
  ReceivedCall,
} from 'test/utils/fake-runner';
import { eventually, sleep } from 'test/utils/http-api';
import { openSse } from 'test/utils/sse-client';

/**
 * After `runner.hello` the server initialises no session: idle ones are initialised when a turn
 * starts (`turn.start` answers `session_unknown`, the server sends `session.init` and asks
 * again), so a restarted runner is not handed every session it ever served. A session mid-turn
 * that the runner does not hold lost its turn with the restart: the turn fails at once, with
 * one `response.failed` and an error item (issue 16, finding 4: it stayed `running` forever).
 */
describe('runner hello (jwt mode)', () => {
  let alice: E2eClient;
  let token: string;
  const runners: FakeRunner[] = [];

  /** A runner that knows only the sessions it was given `session.init` for. */
  const connect = async (runnerId?: string) => {
    const runner = await connectFakeRunner(t.url, {
      token,
      runnerId,
      answer: initOnDemandAnswer(),
    });
    runners.push(runner);
    return runner;
  };
  /** Polls until the session reads `failed` (10 s at most). */
  const failed = (sessionId: string) =>
    eventually(async () => {
      const res = await alice.get(`/v1/sessions/${sessionId}`).expect(200);
      expect(res.body.status).toBe('failed');
    }, 10_000);
  const of = (runner: FakeRunner, sessionId: string): string[] =>
    runner.received
      .filter((call: ReceivedCall) => call.params.session_id === sessionId)
      .map((call) => call.method);

  const t = useTestApp('postgres', JWT_ENV, {
    listen: true,
    beforeClose: () => Promise.all(runners.map((r) => r.close())),
  });
  beforeAll(async () => {
    alice = clientFor(t, uniqueUser('alice'));
    token = alice.headers.Authorization.slice('Bearer '.length);
  });

  it('should fail the lost turns after a restart hello, and initialise idle sessions on demand', async () => {
    const first = await connect();
    const echo = await agentIdByName(alice, 'echo');
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      // Alice's only runner: every new session is bound to it.
      const res = await alice.post('/v1/sessions').send({ agent_id: echo }).expect(201);
      expect(res.body.runner_id).toBe(first.runnerId);
      ids.push(res.body.id);
    }
    const busy = ids.slice(0, 2);
    const turnId = newId(IdPrefix.Response);
    await t.app
      .get(DataSource)
      .query(
        `UPDATE sessions SET live_status = 'running', current_turn_id = $2 WHERE id = ANY($1)`,
        [busy, turnId],
      );
    await first.close();

    // The runner comes back within the grace (a restart: it holds nothing).
    const again = await connect(first.runnerId);
    for (const id of busy) {
      await failed(id);
      const items = await alice.get(`/v1/sessions/${id}/items`).expect(200);
      expect(items.body.data).toEqual([
        expect.objectContaining({
          type: 'error',
          response_id: turnId,
          source: 'execution',
          code: 'runner_restarted',
        }),
      ]);
    }
    // Whatever else a hello would send would have gone out with those; give it time to arrive.
    await sleep(300);
    expect(again.received.filter((c) => c.method === Methods.sessionInit)).toEqual([]);

    const idle = ids[5];
    await alice
      .post(`/v1/sessions/${idle}/events`)
      .send({
        type: 'message',
        data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
      })
      .expect(202);
    expect(of(again, idle)).toEqual([Methods.turnStart, Methods.sessionInit, Methods.turnStart]);
  });

  // The race: a turn started on the new connection between its registration and the hello's
  // read of busy sessions was failed as "lost" although the runner was running it. The read is
  // held until the runner has accepted that turn, so the order is forced, not hoped for.
  it('should not fail a turn started while the hello is being reconciled', async () => {
    const first = await connect();
    const echo = await agentIdByName(alice, 'echo');
    const session = (await alice.post('/v1/sessions').send({ agent_id: echo }).expect(201)).body;
    await alice.patch(`/v1/sessions/${session.id}`).send({ runner_id: first.runnerId }).expect(200);
    await first.close();

    const stream = await openSse(t.url, `/v1/sessions/${session.id}/stream`, alice.headers);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    let accepted: (turnId: string) => void = () => undefined;
    const turnAccepted = new Promise<string>((resolve) => (accepted = resolve));
    let posted: Promise<unknown> = Promise.resolve();
    const sessions = t.app.get(SessionsRepository);
    const busyRead = sessions.listBusyOnRunner.bind(sessions);
    const readBusy = jest
      .spyOn(sessions, 'listBusyOnRunner')
      .mockImplementationOnce(async (...args) => {
        posted = alice
          .post(`/v1/sessions/${session.id}/events`)
          .send({
            type: 'message',
            data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
          })
          .expect(202)
          .then(() => undefined);
        await turnAccepted;
        return busyRead(...args);
      });
    const handler = t.app.get(RunnerEventsHandler);
    const reconciled = new Promise<void>((resolve) => {
      const afterHello = handler.afterHello.bind(handler);
      jest.spyOn(handler, 'afterHello').mockImplementationOnce((connection) => {
        afterHello(connection);
        resolve();
      });
    });
    const fail = jest.spyOn(t.app.get(TurnsService), 'fail');

    const again = await connectFakeRunner(t.url, {
      token,
      runnerId: first.runnerId,
      answer: initOnDemandAnswer((params) => accepted(params.turn_id as string)),
    });
    runners.push(again);
    const turnId = await turnAccepted;
    await posted;
    await reconciled;
    expect(readBusy).toHaveBeenCalled();
    expect(fail.mock.calls.filter(([, failed]) => failed === turnId)).toEqual([]);

    // The runner finishes the turn it was given: one terminal event, the completion.
    const completed = { type: 'response.completed', response: { id: turnId, status: 'completed' } };
    again.sendEvent(session.id, 1, completed, turnId);
    again.sendEvent(session.id, 2, { type: 'session.status', status: 'idle' }, turnId);
    await stream.waitFor((f) => f.event === 'session.status' && f.json?.status === 'idle');
    stream.close();
    const terminals = stream.frames.filter((f) =>
      /^response\.(completed|failed)$/.test(f.event ?? ''),
    );
    expect(terminals.map((f) => f.event)).toEqual(['response.completed']);
    fail.mockRestore();
  });

  // A server killed after recording a turn as running but before `turn.start` reached the runner
  // (the fault suite's kill -9 before the first delta): the runner comes back holding the
  // session, with no turn and nothing to replay. Nobody would ever end that turn.
  it('should fail a turn the runner never got although it holds the session', async () => {
    const runner = await connect();
    const echo = await agentIdByName(alice, 'echo');
    const session = (await alice.post('/v1/sessions').send({ agent_id: echo }).expect(201)).body;
    await alice
      .patch(`/v1/sessions/${session.id}`)
      .send({ runner_id: runner.runnerId })
      .expect(200);
    const lost = newId(IdPrefix.Response);
    const replaying = newId(IdPrefix.Response);
    const other = (await alice.post('/v1/sessions').send({ agent_id: echo }).expect(201)).body;
    await alice.patch(`/v1/sessions/${other.id}`).send({ runner_id: runner.runnerId }).expect(200);
    const db = t.app.get(DataSource);
    await db.query(
      `UPDATE sessions SET live_status = 'running', current_turn_id = $2, event_seq = 4 WHERE id = $1`,
      [session.id, lost],
    );
    await db.query(
      `UPDATE sessions SET live_status = 'running', current_turn_id = $2, event_seq = 4 WHERE id = $1`,
      [other.id, replaying],
    );
    await runner.close();

    // Both sessions held, no turn running; the second still has seqs 5-6 to send (its turn's end).
    const again = await connectFakeRunner(t.url, {
      token,
      runnerId: runner.runnerId,
      sessions: [
        { session_id: session.id, next_seq: 5, parked_elicitations: [] },
        { session_id: other.id, next_seq: 7, parked_elicitations: [] },
      ],
    });
    runners.push(again);
    await failed(session.id);
    const items = await alice.get(`/v1/sessions/${session.id}/items`).expect(200);
    expect(items.body.data).toEqual([
      expect.objectContaining({ type: 'error', response_id: lost, code: 'runner_restarted' }),
    ]);
    // The one with events to replay keeps its turn, and its replayed end is the only terminal.
    expect((await alice.get(`/v1/sessions/${other.id}`).expect(200)).body.status).toBe('running');
    const completed = {
      type: 'response.completed',
      response: { id: replaying, status: 'completed' },
    };
    again.sendEvent(other.id, 5, completed, replaying);
    again.sendEvent(other.id, 6, { type: 'session.status', status: 'idle' }, replaying);
    await again.waitFor((c) => c.method === Methods.sessionAck && c.params.session_id === other.id);
    expect((await alice.get(`/v1/sessions/${other.id}`).expect(200)).body.status).toBe('idle');
    const log = await db.query(
      `SELECT type FROM session_event_log WHERE session_id = $1 AND type LIKE 'response.%'`,
      [other.id],
    );
    expect(log.map((r: { type: string }) => r.type)).toEqual(['response.completed']);
  });
});
