import { expectValid } from 'test/contract/upstream-schemas';
import { httpApi, HttpApi } from 'test/utils/http-api';
import {
  databaseEnv,
  RunnerProcess,
  ServerProcess,
  startRunner,
  startServer,
} from 'test/utils/processes';
import { openSse, SseConnection, waitForIdle } from 'test/utils/sse-client';

type Json = Record<string, unknown>;

/** Uploads like upstream's client: multipart, part `file`, with the first-party Origin. */
async function upload(
  url: string,
  sessionId: string,
  name: string,
  text: string,
  type = 'text/plain',
): Promise<Json> {
  const form = new FormData();
  form.append('file', new Blob([text], { type }), name);
  const res = await fetch(`${url}/v1/sessions/${sessionId}/resources/files`, {
    method: 'POST',
    headers: { Origin: 'omnigent://internal' },
    body: form,
  });
  const body = (await res.json()) as Json;
  expect({ status: res.status, body }).toMatchObject({ status: 201 });
  expectValid('SessionResourceObject', body);
  return body;
}

function lastAssistantText(stream: SseConnection): string {
  const done = stream.frames.filter(
    (f) =>
      f.event === 'response.output_item.done' &&
      (f.json?.item as Json | undefined)?.type === 'message',
  );
  const item = done[done.length - 1]?.json?.item as { content: { text: string }[] };
  return item.content.map((c) => c.text).join('');
}

/**
 * An uploaded file referenced in a message reaches the runner (`file.get`) and the agent reads
 * it: real server and runner processes, on PostgreSQL and on the embedded default.
 */
describe.each(['postgres', 'embedded'] as const)('file attachments reach the runner (%s)', (db) => {
  let server: ServerProcess;
  let runner: RunnerProcess;
  let api: HttpApi;

  beforeAll(async () => {
    server = await startServer(databaseEnv(db));
    runner = await startRunner(server.url);
    api = httpApi(server.url);
  }, 90_000);

  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
  });

  it('should hand the runner the text of an input_file and only files of that session', async () => {
    const session = await api.createSession('echo');
    await api.bind(session.id, runner.runnerId);
    const other = await api.createSession('echo');
    const file = await upload(server.url, session.id, 'notes.md', '# Plan\nship the files module');
    const foreign = await upload(server.url, other.id, 'secret.txt', 'do not leak');

    const stream = await openSse(server.url, `/v1/sessions/${session.id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    const posted = await api.request('POST', `/v1/sessions/${session.id}/events`, {
      type: 'message',
      data: {
        role: 'user',
        content: [
          { type: 'input_text', text: 'read this' },
          { type: 'input_file', file_id: file.id, filename: 'notes.md' },
        ],
      },
    });
    expect(posted.status).toBe(202);
    await waitForIdle(stream, 1);
    expect(lastAssistantText(stream)).toBe(
      'read this\n[file notes.md]\n# Plan\nship the files module',
    );

    // Another session's file id is refused to this session's runner.
    await api.request('POST', `/v1/sessions/${session.id}/events`, {
      type: 'message',
      data: {
        role: 'user',
        content: [
          { type: 'input_text', text: 'and this' },
          { type: 'input_file', file_id: foreign.id },
        ],
      },
    });
    await waitForIdle(stream, 2);
    stream.close();
    const text = lastAssistantText(stream);
    expect(text).toMatch(new RegExp(`^and this\\n\\[file ${String(foreign.id)} is not available`));
    expect(text).not.toContain('do not leak');
  });
});
