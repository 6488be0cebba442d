import { ConfigError, getConfig } from 'src/config/app-config';

/** The problems `getConfig` finds in `env`; fails the test when it accepts it. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    getConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('getConfig accepted an invalid environment');
}
