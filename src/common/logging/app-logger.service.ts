import { Inject, Injectable } from '@nestjs/common';
import { Logger, PARAMS_PROVIDER_TOKEN, PinoLogger } from 'nestjs-pino';
import type { Params } from 'nestjs-pino';

/** Nest's start-up chatter: one line per module and route. Useful when debugging only. */
const NOISY_CONTEXTS = new Set([
  'InstanceLoader',
  'NestFactory',
  'NestApplication',
  'RouterExplorer',
  'RoutesResolver',
]);

/**
 * The application logger (`app.useLogger`): nestjs-pino's, with Nest's per-module and per-route
 * start-up lines moved to debug so a start prints a few useful lines.
 */
@Injectable()
export class AppLogger extends Logger {
  constructor(logger: PinoLogger, @Inject(PARAMS_PROVIDER_TOKEN) params: Params) {
    super(logger, params);
  }

  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (typeof context === 'string' && NOISY_CONTEXTS.has(context)) {
      super.debug(message, ...optionalParams);
      return;
    }
    super.log(message, ...optionalParams);
  }

  override error(message: unknown, ...optionalParams: unknown[]): void {
    // A failed listen is reported once, by `omnigent serve`, in one line (src/main.ts).
    const context = optionalParams[optionalParams.length - 1];
    if (
      context === 'NestApplication' &&
      /listen E(ADDRINUSE|ACCES|ADDRNOTAVAIL)/.test(String(message))
    ) {
      super.debug(message, ...optionalParams);
      return;
    }
    super.error(message, ...optionalParams);
  }
}
