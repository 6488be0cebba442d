import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { bundleOf, echoAgentConfig } from 'test/utils/agent-bundle';
import { randomSessionId } from 'test/utils/e2e-client';
import { HttpApi, httpApi, sleep } from 'test/utils/http-api';
import { startJwtServer } from 'test/utils/jwt-server';
import { RunnerProcess, ServerProcess, startRunner } from 'test/utils/processes';

const SECRET = 'hardening-processes-e2e-secret-0123456789';
const OFFLINE = { runner_online: false, host_online: null, host_version: null };

/** Starts a multipart bundle upload; resolves with its status, or null if the server died. */
async function upload(url: string, token: string, bundle: Buffer): Promise<number | null> {
  const form = new FormData();
  form.append('metadata', '{}');
  form.append('bundle', new Blob([bundle]), 'agent.tar.gz');
  try {
    const res = await fetch(`${url}/v1/sessions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: form,
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return null;
  }
}

describe('hardening with real server and runner processes (jwt, postgres)', () => {
  let server: ServerProcess;
  let runner: RunnerProcess;
  let serverTmp: string;
  let aliceToken: string;
  let bobToken: string;
  let alice: HttpApi;
  let bob: HttpApi;
  let anonymous: HttpApi;

  beforeAll(async () => {
    // The server's own temp directory, so the test sees everything it ever puts there.
    serverTmp = mkdtempSync(join(tmpdir(), 'omnigent-srv-tmp-'));
    const jwt = await startJwtServer(SECRET, { TMPDIR: serverTmp });
    server = jwt.server;
    aliceToken = jwt.newUserToken('alice');
    bobToken = jwt.newUserToken('bob');
    alice = httpApi(server.url, aliceToken);
    bob = httpApi(server.url, bobToken);
    anonymous = httpApi(server.url);
    runner = await startRunner(server.url, ['--token', aliceToken]);
  }, 60_000);

  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
  });

  // Red team: `/health?session_id=` without a token told whether a session exists.
  it('should report real liveness only to the owner; anyone else cannot tell it from a missing id', async () => {
    const session = await alice.createSession('echo');
    await alice.bind(session.id, runner.runnerId);
    const missing = randomSessionId();
    const query = `/health?session_ids=${session.id},${missing}&session_id=${session.id}`;

    const mine = await alice.ok<Record<string, Record<string, unknown>>>('GET', query);
    expect(mine.session).toEqual({ id: session.id, ...OFFLINE, runner_online: true });
    expect(mine.sessions[session.id]).toEqual({ ...OFFLINE, runner_online: true });
    expect(mine.sessions[missing]).toEqual(OFFLINE);

    const badToken = httpApi(server.url, `${aliceToken.slice(0, -4)}AAAA`);
    for (const caller of [anonymous, bob, badToken]) {
      const seen = await caller.ok<Record<string, Record<string, unknown>>>('GET', query);
      expect(seen.session).toEqual({ id: session.id, ...OFFLINE });
      expect(seen.sessions).toEqual({ [session.id]: OFFLINE, [missing]: OFFLINE });
    }
  });

  // Red team: a kill -9 during a bundle upload left its temp directory behind. Kill the server
  // the moment anything shows up in its temp directory, or once uploads are being answered
  // while others are still in flight; either way nothing may be left there.
  it('should leave nothing in its temp directory when killed -9 during bundle uploads', async () => {
    const entries = [
      { name: 'config.yaml', content: echoAgentConfig('killed') },
      { name: 'instructions.md', content: 'Echo.' },
    ];
    for (let index = 0; index < 400; index += 1) {
      entries.push({
        name: `data/${index}.txt`,
        content: randomBytes(6 * 1024).toString('base64'),
      });
    }
    const bundle = await bundleOf(entries);
    expect(bundle.length).toBeLessThan(10 * 1024 * 1024);
    expect(await upload(server.url, aliceToken, bundle)).toBe(201);
    expect(readdirSync(serverTmp)).toEqual([]);

    let answered = false;
    const uploads = Array.from({ length: 4 }, () =>
      upload(server.url, aliceToken, bundle).finally(() => (answered = true)),
    );
    const deadline = Date.now() + 20_000;
    while (!answered && readdirSync(serverTmp).length === 0 && Date.now() < deadline) {
      await sleep(2);
    }
    await server.kill();
    await Promise.all(uploads);

    expect(readdirSync(serverTmp)).toEqual([]);
  });
});
