import { openSse, SseConnection } from 'test/utils/sse-client';
import { HttpApi, httpApi } from 'test/utils/http-api';
import {
  freePort,
  RunnerProcess,
  ServerProcess,
  startRunner,
  startServer,
} from 'test/utils/processes';
import { embeddedDataDir, removeDataDir } from 'test/utils/test-database';

const ASK_ON_OS_TOOLS = 'omnigent.policies.builtins.safety.ask_on_os_tools';

const idle = (stream: SseConnection) =>
  stream.waitFor(
    (f) => f.event === 'session.status' && f.json?.status === 'idle',
    30_000,
    'session.status idle',
  );

/** Approvals that outlive their turn, their deadline or their server (real processes). */
describe('approval lifecycle: timeout, interrupt, server restart', () => {
  let server: ServerProcess;
  let runner: RunnerProcess;
  let api: HttpApi;
  let port: number;
  let dataDir: string;
  // The first server gives approvals a minute (they must outlive its restart); the one after
  // the restart gives them 4 s, for the expiry test. Its own embedded database and a long
  // runner grace: under load the runner may take over 10 s to reconnect after the restart, and
  // any server's sweeper on a shared database would then fail the turn (cancelling its approval).
  const serverEnv = (askTimeoutS: number) => ({
    OMNIGENT_DATA_DIR: dataDir,
    OMNIGENT_RUNNER_GRACE_MS: '120000',
    OMNIGENT_PORT: String(port),
    OMNIGENT_POLICY_ASK_TIMEOUT_S: String(askTimeoutS),
  });

  beforeAll(async () => {
    port = await freePort();
    dataDir = embeddedDataDir();
    server = await startServer(serverEnv(60));
    runner = await startRunner(server.url);
    api = httpApi(server.url);
  }, 60_000);

  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
    removeDataDir(dataDir);
  });

  /** An echo session whose every OS tool call asks first; the turn is waiting on one. */
  async function pendingApproval() {
    const session = await api.createSession('echo');
    await api.bind(session.id, runner.runnerId);
    await api.ok('POST', `/v1/sessions/${session.id}/policies`, {
      name: 'ask',
      type: 'python',
      handler: ASK_ON_OS_TOOLS,
    });
    const stream = await openSse(server.url, `/v1/sessions/${session.id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    await api.say(session.id, '/tool list_dir {"path":"."}');
    const ask = await stream.waitFor((f) => f.event === 'response.elicitation_request');
    return { id: session.id, stream, eid: String(ask.json?.elicitation_id) };
  }

  const toolOutput = (stream: SseConnection) =>
    stream.frames
      .map((f) => f.json?.item as { type?: string; output?: string } | undefined)
      .find((i) => i?.type === 'function_call_output')?.output;

  it('should keep a pending approval across a server restart and run the call once accepted', async () => {
    const { id, stream, eid } = await pendingApproval();
    stream.close();
    await server.stop();
    server = await startServer(serverEnv(4));
    api = httpApi(server.url);
    const snapshot = await api.ok<{ pending_elicitations: { elicitation_id: string }[] }>(
      'GET',
      `/v1/sessions/${id}`,
    );
    expect(snapshot.pending_elicitations.map((e) => e.elicitation_id)).toEqual([eid]);
    // The runner reconnects to the new server (same port) before the answer can reach it.
    await runner.waitForOutput(/reconnected/, 30_000);
    const after = await openSse(server.url, `/v1/sessions/${id}/stream`);
    await after.waitFor((f) => f.event === 'session.heartbeat');
    await api.ok('POST', `/v1/sessions/${id}/elicitations/${eid}/resolve`, { action: 'accept' });
    await idle(after);
    after.close();
    const items = await api.ok<{ data: { type: string; output?: string }[] }>(
      'GET',
      `/v1/sessions/${id}/items`,
    );
    const output = items.data.find((i) => i.type === 'function_call_output');
    expect(output).toBeDefined();
    expect(output?.output).not.toMatch(/Denied|approval not granted|Error/);
    // Its own bounded waits (a restart: up to 60 s for `Listening`, 30 s for the reconnect; 13.5
    // s for the start alone at load average 12) do not fit Jest's default 30 s.
  }, 150_000);

  it('should expire an unanswered approval, deny the call and let the turn go on', async () => {
    const { id, stream, eid } = await pendingApproval();
    const resolved = await stream.waitFor(
      (f) => f.event === 'response.elicitation_resolved',
      20_000,
    );
    expect(resolved.json?.elicitation_id).toBe(eid);
    await idle(stream);
    stream.close();
    expect(toolOutput(stream)).toMatch(/approval not granted/);
    expect(stream.frames.some((f) => f.event === 'response.completed')).toBe(true);
    expect(await api.ok('GET', `/v1/sessions/${id}/elicitations/${eid}`)).toEqual({
      status: 'resolved',
    });
    const late = await api.request('POST', `/v1/sessions/${id}/elicitations/${eid}/resolve`, {
      action: 'accept',
    });
    expect(late.status).toBe(409);
  });

  it('should cancel a pending approval when the turn is interrupted', async () => {
    const { id, stream, eid } = await pendingApproval();
    await api.ok('POST', `/v1/sessions/${id}/events`, { type: 'interrupt', data: {} });
    const resolved = await stream.waitFor((f) => f.event === 'response.elicitation_resolved');
    expect(resolved.json?.elicitation_id).toBe(eid);
    await idle(stream);
    stream.close();
    const snapshot = await api.ok<{ pending_elicitations: unknown[] }>('GET', `/v1/sessions/${id}`);
    expect(snapshot.pending_elicitations).toEqual([]);
  });
});
