import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';

import { createApplication } from 'src/app.factory';
import { AppConfig, getConfig } from 'src/config/app-config';
import { embeddedDataDir, newDataDir, removeDataDir } from 'test/utils/test-database';

/**
 * `postgres`: the machine's PostgreSQL (the run's shared e2e database). `embedded`: the embedded
 * default, started in the app on a copy of the migrated template (test/global-setup.ts).
 */
export type TestDatabase = 'postgres' | 'embedded';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  http: TestAgent;
  /** Base URL once `listen()` was called. */
  url?: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The env of a test server: quiet logs, its own data dir, no local runner. */
export function testEnv(
  database: TestDatabase,
  env: Record<string, string> = {},
): Record<string, string> {
  const base: Record<string, string> = {
    OMNIGENT_LOG_LEVEL: 'error',
    OMNIGENT_LOCAL_RUNNER: '0',
  };
  if (database === 'postgres') {
    base.OMNIGENT_DATA_DIR = newDataDir('omnigent-e2e-');
    base.DATABASE_URL = process.env.OMNIGENT_TEST_DATABASE_URL as string;
    base.OMNIGENT_DB_MIGRATE = 'false';
  } else {
    base.OMNIGENT_DATA_DIR = embeddedDataDir();
  }
  return { ...base, ...env };
}

/**
 * The real AppModule over supertest (style rule 21). PostgreSQL is the run's shared test
 * database, so tests use their own users and names; the embedded database is the app's own.
 */
export async function createTestApp(
  database: TestDatabase = 'postgres',
  env: Record<string, string> = {},
): Promise<TestApp> {
  const config = getConfig(testEnv(database, env));
  const app = await createApplication(config);
  await app.init();
  const testApp: TestApp = {
    app,
    config,
    http: request(app.getHttpServer()),
    async listen() {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      testApp.url = `http://127.0.0.1:${port}`;
      return testApp.url;
    },
    async close() {
      await app.close();
      if (!env.OMNIGENT_DATA_DIR) {
        removeDataDir(config.database.dataDir);
      }
    },
  };
  return testApp;
}

/** A test app's env, or a function giving it when the app starts (values earlier hooks set). */
export type TestAppEnv = Record<string, string> | (() => Record<string, string>);

export interface UseTestAppOptions {
  /** Listen on a random port before the tests (the handle's `url` is then set). */
  listen?: boolean;
  /** Runs after the tests, before the app closes: runners and streams still connected to it. */
  beforeClose?: () => unknown;
  /** The timeout of the hook that creates the app (Jest's default when absent). */
  timeout?: number;
}

/**
 * One test app for the enclosing `describe`: created (and listening, with `listen`) in a
 * `beforeAll`, closed in an `afterAll`. The handle is usable inside hooks and tests only; hooks
 * declared after this call see the app.
 */
export function useTestApp(
  database: TestDatabase,
  env: TestAppEnv,
  options: UseTestAppOptions & { listen: true },
): TestApp & { url: string };
export function useTestApp(
  database?: TestDatabase,
  env?: TestAppEnv,
  options?: UseTestAppOptions,
): TestApp;
export function useTestApp(
  database: TestDatabase = 'postgres',
  env: TestAppEnv = {},
  { listen = false, beforeClose, timeout }: UseTestAppOptions = {},
): TestApp {
  let current: TestApp | undefined;
  const get = (): TestApp => {
    if (!current) {
      // Before its beforeAll, or that hook failed (its error is reported too).
      throw new Error('useTestApp: no app here; it exists in the hooks and tests of its describe');
    }
    return current;
  };
  beforeAll(async () => {
    current = await createTestApp(database, typeof env === 'function' ? env() : env);
    if (listen) {
      await current.listen();
    }
  }, timeout);
  afterAll(async () => {
    await beforeClose?.();
    await current?.close();
  });
  return {
    get app() {
      return get().app;
    },
    get config() {
      return get().config;
    },
    get http() {
      return get().http;
    },
    get url() {
      return get().url;
    },
    listen: () => get().listen(),
    close: () => get().close(),
  };
}
