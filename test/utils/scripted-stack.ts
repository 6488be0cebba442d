import { join } from 'node:path';

import { HttpApi, httpApi } from 'test/utils/http-api';
import {
  databaseEnv,
  RunnerProcess,
  ServerProcess,
  startRunner,
  startServer,
} from 'test/utils/processes';
import {
  ScriptedOpenAi,
  ScriptedResponse,
  startScriptedOpenAi,
} from 'test/utils/scripted-openai-server';

/** A server process and a runner process whose `openai` harness talks to a scripted double. */
export interface ScriptedStack {
  openai: ScriptedOpenAi;
  server: ServerProcess;
  runner: RunnerProcess;
  api: HttpApi;
  /** The workspace the runner made for a session. */
  workspaceOf(sessionId: string): string;
  /** Stops the runner, the server and the double, in that order. */
  stop(): Promise<void>;
}

/**
 * Starts a server on the test database (plus `serverEnv`) and a runner whose `openai` harness
 * (API key `sk-test-123`) gets its answers from `script`: push to it before each turn.
 */
export async function startScriptedStack(
  script: ScriptedResponse[],
  serverEnv: Record<string, string> = {},
): Promise<ScriptedStack> {
  const openai = await startScriptedOpenAi(script);
  const stops: (() => Promise<unknown>)[] = [() => openai.close()];
  const stopAll = async () => {
    for (const stop of [...stops].reverse()) {
      await stop();
    }
  };
  try {
    const server = await startServer({ ...databaseEnv('postgres'), ...serverEnv });
    stops.push(() => server.stop());
    const runner = await startRunner(server.url, [], {
      OPENAI_BASE_URL: openai.url,
      OPENAI_API_KEY: 'sk-test-123',
    });
    stops.push(() => runner.stop());
    return {
      openai,
      server,
      runner,
      api: httpApi(server.url),
      workspaceOf: (sessionId) =>
        join(runner.output().match(/workspaces in (\S+)\)/)?.[1] ?? '', sessionId),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
