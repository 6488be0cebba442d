import { Type } from '@nestjs/common';

import { AppConfig, getConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { automock } from 'test/utils/automock';

/** What Nest records for a constructor: its parameter types, and tokens named with @Inject(). */
const PARAMTYPES = 'design:paramtypes';
const SELF_DECLARED_DEPS = 'self:paramtypes';

export interface TestService<T> {
  /** The service under test, built with its real constructor. */
  sut: T;
  /** The strict automock injected for a dependency class. */
  mock<D>(Dependency: Type<D>): jest.Mocked<D>;
  /** The AppConfig injected (`getConfig()` of the test's env). */
  config: AppConfig;
}

/**
 * Builds `Service` as Nest would, but with a strict `automock` for every class it depends on
 * (immich's `newTestService`): the unit under test is the service alone, and a repository call
 * the test did not stub fails. `APP_CONFIG` is a real config of `env`; any other token must come
 * in `overrides` (token → value), which also replace mocks.
 */
export function newTestService<T>(
  Service: Type<T>,
  options: { env?: Record<string, string>; overrides?: Map<unknown, unknown> } = {},
): TestService<T> {
  const config = getConfig({ OMNIGENT_LOG_LEVEL: 'error', ...options.env });
  const types = (Reflect.getMetadata(PARAMTYPES, Service) ?? []) as unknown[];
  const declared = (Reflect.getMetadata(SELF_DECLARED_DEPS, Service) ?? []) as {
    index: number;
    param: unknown;
  }[];
  const mocks = new Map<unknown, unknown>();
  const args = types.map((type, index) => {
    const token = declared.find((d) => d.index === index)?.param ?? type;
    if (options.overrides?.has(token)) {
      return options.overrides.get(token);
    }
    if (token === APP_CONFIG) {
      return config;
    }
    if (typeof token !== 'function' || token === Object) {
      throw new Error(
        `${Service.name}: no value for constructor parameter ${index}; pass it in overrides`,
      );
    }
    const mock = automock(token as Type<unknown>);
    mocks.set(token, mock);
    return mock;
  });
  return {
    sut: new Service(...args),
    config,
    mock<D>(Dependency: Type<D>): jest.Mocked<D> {
      const mock = mocks.get(Dependency);
      if (!mock) {
        throw new Error(`${Service.name} does not depend on ${Dependency.name}`);
      }
      return mock as jest.Mocked<D>;
    },
  };
}
