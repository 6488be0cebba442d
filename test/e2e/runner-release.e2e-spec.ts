import { expectStreamEvent } from 'test/contract/upstream-schemas';
import { useServerWithRunner } from 'test/utils/server-with-runner';
import { isAmbient, openSse, SseConnection } from 'test/utils/sse-client';

const idles = (stream: SseConnection) =>
  stream.frames.filter((f) => f.event === 'session.status' && f.json?.status === 'idle').length;

/**
 * Issue 16 (soak): the runner kept ~11 KB for every session it ever served. It now releases a
 * session once it is idle (no turn, nothing queued, every event acknowledged) and rebuilds it
 * from the server's session.init when the next turn comes (turn.start → session_unknown → init
 * → retry, RunnerLink.startTurn).
 */
describe('runner: idle sessions are released and reloaded on demand', () => {
  const stack = useServerWithRunner({
    runnerArgs: ['--session-idle-ms', '1000'],
    runnerEnv: { OMNIGENT_LOG_LEVEL: 'debug' },
  });

  it('should release an idle session and run its next turn with the whole history reloaded', async () => {
    const session = await stack.api.createSession('echo');
    await stack.api.bind(session.id, stack.runner.runnerId);
    const stream = await openSse(stack.server.url, `/v1/sessions/${session.id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');

    expect((await stack.api.say(session.id, 'first message')).status).toBe(202);
    await stream.waitFor(() => idles(stream) === 1, 20_000, 'the first idle');
    await stack.runner.waitForOutput(/released 1 idle session \(holding 0\)/, 10_000);

    expect((await stack.api.say(session.id, 'second message')).status).toBe(202);
    await stream.waitFor(() => idles(stream) === 2, 20_000, 'the second idle');
    stream.close();

    // Initialised twice: once when bound, once more after the release.
    expect(
      stack.runner.output().match(new RegExp(`session ${session.id} initialised`, 'g')),
    ).toHaveLength(2);
    const completed = stream.frames
      .filter((f) => f.event === 'response.completed')
      .map((f) => f.json?.response as { usage: { input_tokens: number } });
    expect(completed).toHaveLength(2);
    // The echo harness counts the history it was given: after the reload the second turn still
    // saw the first exchange ('first message' twice, then 'second message': 40 characters).
    expect(completed.map((r) => r.usage.input_tokens)).toEqual([
      Math.ceil('first message'.length / 4),
      Math.ceil(('first message'.repeat(2) + 'second message').length / 4),
    ]);
    // One stream, numbered without gaps in order and without repeats, across the release.
    const durable = stream.frames.filter((f) => !isAmbient(f) && !f.event?.endsWith('.delta'));
    const ids = durable.map((f) => Number(f.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const frame of durable) {
      expectStreamEvent(frame.json as Record<string, unknown>);
    }
    const items = await stack.api.ok<{ data: { role: string; content: { text: string }[] }[] }>(
      'GET',
      `/v1/sessions/${session.id}/items`,
    );
    expect(items.data.map((i) => `${i.role}:${i.content[0].text}`)).toEqual([
      'user:first message',
      'assistant:first message',
      'user:second message',
      'assistant:second message',
    ]);
  });
});
