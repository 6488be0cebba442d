import { Provider } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';

import { AppModule } from 'src/app.module';
import { AuthGuard } from 'src/common/auth/auth.guard';
import { RateLimitGuard } from 'src/common/rate-limit/rate-limit.guard';
import { getConfig } from 'src/config/app-config';

interface DynamicRef {
  module?: object;
  providers?: Provider[];
  imports?: unknown[];
}

/** Module metadata read off an @Module class (none for anything else). */
function metadata<T>(key: string, target: unknown): T[] {
  return typeof target === 'function' ? ((Reflect.getMetadata(key, target) as T[]) ?? []) : [];
}

/** Providers of a module and of everything it imports (dynamic modules and @Module classes). */
function providersOf(ref: unknown, seen = new Set<unknown>()): Provider[] {
  if (!ref || seen.has(ref)) {
    return [];
  }
  seen.add(ref);
  const dynamic: DynamicRef = typeof ref === 'object' ? (ref as DynamicRef) : {};
  const cls = dynamic.module ?? ref;
  const own = [...(dynamic.providers ?? []), ...metadata<Provider>(MODULE_METADATA.PROVIDERS, cls)];
  const imports = [...(dynamic.imports ?? []), ...metadata<unknown>(MODULE_METADATA.IMPORTS, cls)];
  return [...own, ...imports.flatMap((m) => providersOf(m, seen))];
}

/** The global guards and interceptors an app with this environment registers. */
function enhancers(env: Record<string, string>): unknown[] {
  return (
    providersOf(AppModule.forRoot(getConfig(env))) as { provide?: unknown; useClass?: unknown }[]
  )
    .filter((p) => p.provide === APP_GUARD || p.provide === APP_INTERCEPTOR)
    .map((p) => p.useClass);
}

describe('FastLane', () => {
  // The lane answers its routes without Nest's enhancers and runs AuthGuard's body itself
  // (RequestAuthService); it is not mounted when the rate limit's guard is on. A new global
  // guard or interceptor must be mirrored in the lane (or switch it off): this test says so.
  it('should mirror every global guard and interceptor of the app', () => {
    expect(enhancers({ OMNIGENT_DATA_DIR: '/tmp/omnigent-lane-spec' })).toEqual([AuthGuard]);
    expect(
      enhancers({
        OMNIGENT_DATA_DIR: '/tmp/omnigent-lane-spec',
        OMNIGENT_RATE_LIMIT_PER_MINUTE: '60',
      }),
    ).toEqual(expect.arrayContaining([AuthGuard, RateLimitGuard]));
  });
});
