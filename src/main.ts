import { AddressInfo } from 'node:net';

import { Logger } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';

import { createApplication } from 'src/app.factory';
import { StartupError } from 'src/cli/serve-preflight';
import { isLoopbackAddress } from 'src/common/auth/local-origin';
import { AppConfig } from 'src/config/app-config';
import { LocalRunnerService } from 'src/modules/runners/local-runner.service';
import { ReadinessService } from 'src/modules/system/readiness.service';

export interface RunningServer {
  app: NestExpressApplication;
  url: string;
}

function assertSafeBind(config: AppConfig): void {
  const loopback = isLoopbackAddress(config.http.host) || config.http.host === 'localhost';
  if (config.auth.mode === 'none' && !loopback && !config.auth.allowRemoteNoAuth) {
    throw new Error(
      `Refusing to listen on ${config.http.host} without authentication: anyone who can reach it ` +
        'would act as the admin. Use OMNIGENT_AUTH=jwt, bind to 127.0.0.1, or set ' +
        'OMNIGENT_ALLOW_REMOTE_NOAUTH=1 if you really mean it.',
    );
  }
}

/** Boots the server and listens (`omnigent serve`, `npm start`). */
export async function startServer(config: AppConfig): Promise<RunningServer> {
  const logger = new Logger('Omnigent');
  assertSafeBind(config);
  const app = await createApplication(config);
  // SIGTERM drains first (below); the other signals stop at once, as before.
  app.enableShutdownHooks(['SIGINT', 'SIGHUP', 'SIGQUIT']);
  try {
    await app.listen(config.http.port, config.http.host);
  } catch (error) {
    await app.close().catch(() => undefined);
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new StartupError(
        `Cannot listen on ${config.http.host}:${config.http.port} (OMNIGENT_HOST/OMNIGENT_PORT): ` +
          (code === 'EADDRINUSE'
            ? 'the port is already in use'
            : code === 'EACCES'
              ? 'permission denied'
              : 'the address is not available on this machine'),
      );
    }
    throw error;
  }
  drainOnSigterm(app, config, logger);
  const { port } = app.getHttpServer().address() as AddressInfo;
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const url = `http://${host}:${port}`;
  const database = config.database.embedded
    ? `embedded PostgreSQL in ${config.database.dataDir}`
    : `PostgreSQL ${redactUrl(config.database.url as string)}`;
  logger.log(
    `Listening on ${url} | auth: ${config.auth.mode} | database: ${database} | ` +
      `bus: ${config.bus.kind} | docs: ${url}/docs`,
  );
  if (config.auth.mode === 'none') {
    logger.warn(
      isLoopbackAddress(config.http.host) || config.http.host === 'localhost'
        ? 'Auth is off (OMNIGENT_AUTH=none): every request acts as the local admin; loopback only.'
        : `Auth is off and the server listens on ${config.http.host}: anyone who can reach it is the admin.`,
    );
  }
  await app.get(LocalRunnerService).start(url);
  return { app, url };
}

/**
 * SIGTERM (an orchestrator stopping the container): `/ready` answers 503 at once so load
 * balancers stop sending traffic, requests keep being served for OMNIGENT_DRAIN_MS, then the app
 * closes (streams end, runners are told, the pool closes) and the process exits 0. A close that
 * hangs past 20 s exits 1 rather than waiting for the orchestrator's SIGKILL.
 */
function drainOnSigterm(app: NestExpressApplication, config: AppConfig, logger: Logger): void {
  process.once('SIGTERM', () => {
    app.get(ReadinessService).startDraining();
    logger.log(`SIGTERM: draining (/ready answers 503), stopping in ${config.ops.drainMs} ms`);
    setTimeout(() => {
      setTimeout(() => {
        logger.error('Shutdown took longer than 20 s; exiting');
        process.exit(1);
      }, 20_000).unref();
      app.close().then(
        () => {
          logger.log('Stopped');
          process.exit(0);
        },
        (error: Error) => {
          logger.error(`Shutdown failed: ${error.message}`, error.stack);
          process.exit(1);
        },
      );
    }, config.ops.drainMs);
  });
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      parsed.password = '***';
    }
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
