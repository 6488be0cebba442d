import { HttpApi, httpApi } from 'test/utils/http-api';
import {
  databaseEnv,
  RunnerProcess,
  ServerProcess,
  startRunner,
  startServer,
} from 'test/utils/processes';

/** A server process, a runner process connected to it, and an anonymous client of the server. */
export interface ServerWithRunner {
  readonly server: ServerProcess;
  readonly runner: RunnerProcess;
  readonly api: HttpApi;
}

export interface ServerWithRunnerOptions {
  /** The server's database: the shared, migrated test database (default) or the embedded one. */
  database?: 'postgres' | 'embedded';
  serverEnv?: Record<string, string | undefined>;
  runnerArgs?: string[];
  runnerEnv?: Record<string, string | undefined>;
  /** The timeout of the hook that starts both (60 s when absent). */
  timeout?: number;
}

/**
 * `omnigent serve` and `omnigent runner` for the enclosing `describe`: started in a `beforeAll`
 * (the server, then the runner), stopped in an `afterAll` (the runner first, then the server).
 * The handle is usable inside hooks and tests only.
 */
export function useServerWithRunner({
  database = 'postgres',
  serverEnv = {},
  runnerArgs = [],
  runnerEnv = {},
  timeout = 60_000,
}: ServerWithRunnerOptions = {}): ServerWithRunner {
  let server: ServerProcess | undefined;
  let runner: RunnerProcess | undefined;
  let api: HttpApi | undefined;
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) {
      // Before its beforeAll, or that hook failed (its error is reported too).
      throw new Error(
        'useServerWithRunner: not started; it runs in the hooks and tests of its describe',
      );
    }
    return value;
  };
  beforeAll(async () => {
    server = await startServer({ ...databaseEnv(database), ...serverEnv });
    runner = await startRunner(server.url, runnerArgs, runnerEnv);
    api = httpApi(server.url);
  }, timeout);
  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
  });
  return {
    get server() {
      return started(server);
    },
    get runner() {
      return started(runner);
    },
    get api() {
      return started(api);
    },
  };
}
