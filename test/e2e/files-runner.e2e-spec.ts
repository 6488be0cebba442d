import { expectValid } from 'test/contract/upstream-schemas';
import { useServerWithRunner } from 'test/utils/server-with-runner';
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
  const stack = useServerWithRunner({ database: db, timeout: 90_000 });

  it('should hand the runner the text of an input_file and only files of that session', async () => {
    const session = await stack.api.createSession('echo');
    await stack.api.bind(session.id, stack.runner.runnerId);
    const other = await stack.api.createSession('echo');
    const file = await upload(
      stack.server.url,
      session.id,
      'notes.md',
      '# Plan\nship the files module',
    );
    const foreign = await upload(stack.server.url, other.id, 'secret.txt', 'do not leak');

    const stream = await openSse(stack.server.url, `/v1/sessions/${session.id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    const posted = await stack.api.request('POST', `/v1/sessions/${session.id}/events`, {
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
    await stack.api.request('POST', `/v1/sessions/${session.id}/events`, {
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
