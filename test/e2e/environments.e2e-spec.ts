import { expectValid } from 'test/contract/upstream-schemas';
import { startRunner } from 'test/utils/processes';
import { useServerWithRunner } from 'test/utils/server-with-runner';
import { openSse, waitForIdle } from 'test/utils/sse-client';

type Json = Record<string, unknown>;

/**
 * The session environment through the API (spec/api-reference.md §8.4), served by a real runner
 * process in the session workspace: on PostgreSQL and on the embedded default.
 */
describe.each(['postgres', 'embedded'] as const)('session environments (%s)', (db) => {
  const stack = useServerWithRunner({ database: db, timeout: 90_000 });

  async function bound(): Promise<string> {
    const session = await stack.api.createSession('echo');
    await stack.api.bind(session.id, stack.runner.runnerId);
    return session.id;
  }

  const env = (sid: string) => `/v1/sessions/${sid}/resources/environments/default`;

  it('should write, read, edit, list, search and delete workspace files', async () => {
    const sid = await bound();
    const written = await stack.api.request('PUT', `${env(sid)}/filesystem/notes/plan.md`, {
      content: 'step one\nstep two\n',
    });
    expect(written).toMatchObject({
      status: 200,
      body: {
        object: 'session.environment.filesystem.write_result',
        operation: 'write',
        path: 'notes/plan.md',
        created: true,
        bytes_written: 18,
        entry: { type: 'file', name: 'plan.md', bytes: 18, modified_at: expect.any(Number) },
      },
    });
    // Listings carry mtimes in integer Unix seconds (§8.4 Entry.modified_at).
    const mtime = ((written.body as Json).entry as Json).modified_at as number;
    expect(Number.isInteger(mtime)).toBe(true);
    expect(Math.abs(mtime - Date.now() / 1000)).toBeLessThan(3600);
    const read = await stack.api.request('GET', `${env(sid)}/filesystem/notes/plan.md`);
    expect(read.body).toMatchObject({
      object: 'session.environment.filesystem.file_content',
      path: 'notes/plan.md',
      encoding: 'utf-8',
      content: 'step one\nstep two\n',
      truncated: false,
      bytes: 18,
    });
    const edited = await stack.api.request('PATCH', `${env(sid)}/filesystem/notes/plan.md`, {
      old_text: 'step two',
      new_text: 'step 2',
    });
    expect(edited.body).toMatchObject({ operation: 'edit', replacements: 1, bytes_after: 16 });
    const ambiguous = await stack.api.request('PATCH', `${env(sid)}/filesystem/notes/plan.md`, {
      old_text: 'step',
      new_text: 'x',
    });
    expect(ambiguous).toMatchObject({ status: 400, body: { code: 'invalid_input' } });

    const root = await stack.api.request<Json>('GET', `${env(sid)}/filesystem`);
    expect(root.body).toMatchObject({
      object: 'list',
      data: [{ id: 'notes', type: 'directory', name: 'notes', modified_at: expect.any(Number) }],
      has_more: false,
    });
    const folder = await stack.api.request<Json>('GET', `${env(sid)}/filesystem/notes?limit=1`);
    expect(folder.body).toMatchObject({
      data: [
        {
          path: 'notes/plan.md',
          bytes: 16,
          modified_at: ((edited.body as Json).entry as Json).modified_at,
        },
      ],
    });

    const search = await stack.api.request<Json>('GET', `${env(sid)}/search?q=PLAN`);
    expect(search.body).toMatchObject({
      object: 'list',
      data: [{ path: 'notes/plan.md' }],
      has_more: false,
      truncated: false,
    });
    const excluded = await stack.api.request<Json>('GET', `${env(sid)}/search?q=plan&exclude=*.md`);
    expect(excluded.body.data).toEqual([]);
    expect((await stack.api.request('GET', `${env(sid)}/search?q=%20`)).status).toBe(400);

    const deleted = await stack.api.request('DELETE', `${env(sid)}/filesystem/notes`);
    expect(deleted.body).toMatchObject({
      operation: 'delete',
      deleted: true,
      type: 'directory',
      entries_deleted: 2,
      bytes_deleted: 16,
    });
    const gone = await stack.api.request('GET', `${env(sid)}/filesystem/notes/plan.md`);
    expect(gone).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });

  it("should show API edits to the agent's tools and the agent's writes to the API", async () => {
    const sid = await bound();
    await stack.api.ok('PUT', `${env(sid)}/filesystem/shared.txt`, { content: 'from the API' });
    const stream = await openSse(stack.server.url, `/v1/sessions/${sid}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    await stack.api.say(sid, '/tool read_file {"path":"shared.txt"}');
    await waitForIdle(stream, 1);
    const outputs = stream.frames.filter(
      (f) => (f.json?.item as Json | undefined)?.type === 'function_call_output',
    );
    expect(String((outputs[0].json?.item as Json).output)).toContain('from the API');

    await stack.api.say(sid, '/tool write_file {"path":"agent.txt","content":"from the agent"}');
    await waitForIdle(stream, 2);
    stream.close();
    const read = await stack.api.request<Json>('GET', `${env(sid)}/filesystem/agent.txt`);
    expect(read.body.content).toBe('from the agent');
  });

  it('should refuse paths outside the workspace, encoded or through links', async () => {
    const sid = await bound();
    for (const path of ['..%2F..%2Fetc%2Fpasswd', '%2E%2E/%2E%2E/etc/passwd', '..%5C..%5Cx']) {
      const res = await stack.api.request('GET', `${env(sid)}/filesystem/${path}`);
      expect([400, 404]).toContain(res.status);
      expect(JSON.stringify(res.body)).not.toContain('root:');
    }
    const escape = await stack.api.request('PUT', `${env(sid)}/filesystem/..%2Fescape.txt`, {
      content: 'x',
    });
    expect(escape).toMatchObject({ status: 400, body: { code: 'invalid_input' } });
    await stack.api.ok('POST', `${env(sid)}/shell`, { command: 'ln -s /etc outside' });
    const link = await stack.api.request('GET', `${env(sid)}/filesystem/outside/passwd`);
    expect(link).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/outside/) },
    });
    const host = await stack.api.request('GET', `${env(sid)}/filesystem?base=host`);
    expect(host.status).toBe(403);
  });

  it('should run shell commands in the workspace and report git changes', async () => {
    const sid = await bound();
    const shell = await stack.api.request<Json>('POST', `${env(sid)}/shell`, {
      command: 'echo hi; echo oops >&2; exit 3',
    });
    expect(shell).toMatchObject({
      status: 200,
      body: {
        object: 'session.environment.shell_result',
        stdout: 'hi\n',
        stderr: 'oops\n',
        exit_code: 3,
        timed_out: false,
      },
    });
    const slow = await stack.api.request<Json>('POST', `${env(sid)}/shell`, {
      command: 'sleep 5',
      timeout: 1,
    });
    expect(slow.body).toMatchObject({ timed_out: true });
    const form = await fetch(`${stack.server.url}${env(sid)}/shell`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', Origin: 'omnigent://internal' },
      body: 'ls',
    });
    expect(form.status).toBe(415);

    expect((await stack.api.request<Json>('GET', `${env(sid)}/changes`)).body).toEqual({
      object: 'list',
      data: [],
      has_more: false,
    });
    await stack.api.ok('POST', `${env(sid)}/shell`, { command: 'git init -q . && echo a > a.txt' });
    const changes = await stack.api.request<Json>('GET', `${env(sid)}/changes`);
    expect(changes.body).toMatchObject({
      object: 'list',
      data: [
        {
          path: 'a.txt',
          name: 'a.txt',
          status: 'untracked',
          bytes: 2,
          modified_at: expect.any(Number),
        },
      ],
    });
  });

  it('should list resources and answer 409 unbound, 503 with the runner offline', async () => {
    const sid = await bound();
    const form = new FormData();
    form.append('file', new Blob(['x'], { type: 'text/plain' }), 'x.txt');
    await fetch(`${stack.server.url}/v1/sessions/${sid}/resources/files`, {
      method: 'POST',
      headers: { Origin: 'omnigent://internal' },
      body: form,
    });
    const all = await stack.api.request<Json>('GET', `/v1/sessions/${sid}/resources`);
    expectValid('SessionResourcePaginatedList', all.body);
    expect(all.body.data).toMatchObject([
      { id: 'default', type: 'environment', name: 'Primary environment' },
      { type: 'file', name: 'x.txt' },
    ]);
    const one = await stack.api.request<Json>('GET', `/v1/sessions/${sid}/resources/default`);
    expectValid('SessionResourceObject', one.body);
    expect(one.body.metadata).toMatchObject({ role: 'primary', root: expect.any(String) });
    const files = await stack.api.request<Json>('GET', `/v1/sessions/${sid}/resources?type=file`);
    expect(files.body.data).toMatchObject([{ type: 'file' }]);
    expect((await stack.api.request('GET', `/v1/sessions/${sid}/resources/nope`)).status).toBe(404);
    expect((await stack.api.request('GET', `${env(sid).replace('default', 'other')}`)).status).toBe(
      404,
    );

    const unbound = (await stack.api.createSession('echo')).id;
    // A new session is bound to its owner's only runner: unbind it.
    await stack.api.ok('PATCH', `/v1/sessions/${unbound}`, { runner_id: '' });
    const conflict = await stack.api.request('GET', `/v1/sessions/${unbound}/resources`);
    expect(conflict).toMatchObject({ status: 409, body: { code: 'conflict' } });
    expect((await stack.api.request('GET', `${env(unbound)}/filesystem`)).status).toBe(409);

    const second = await startRunner(stack.server.url);
    const offline = (await stack.api.createSession('echo')).id;
    await stack.api.bind(offline, second.runnerId);
    await second.stop();
    const unavailable = await stack.api.request('GET', `${env(offline)}/filesystem`);
    expect(unavailable).toMatchObject({ status: 503, body: { code: 'runner_unavailable' } });
  });
});
