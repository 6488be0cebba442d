// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Class<T> = abstract new (...args: any[]) => T;

/**
 * A mock of every method of `Dependency` (its whole prototype chain), as immich's
 * `automock`. Strict by default: a method the test did not stub throws when called, so a test
 * states every call it expects and an unexpected one fails loudly instead of returning
 * undefined. `{ strict: false }` gives methods that return undefined.
 */
export function automock<T>(
  Dependency: Class<T>,
  options: { strict?: boolean } = {},
): jest.Mocked<T> {
  const strict = options.strict ?? true;
  const mock: Record<string, jest.Mock> = {};
  for (
    let proto: object | null = Dependency.prototype as object;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (name === 'constructor' || name in mock || typeof descriptor?.value !== 'function') {
        continue;
      }
      const label = `${Dependency.name}.${name}`;
      mock[name] = jest.fn(
        strict
          ? () => {
              throw new Error(`${label}() was called but not stubbed`);
            }
          : undefined,
      );
    }
  }
  return mock as unknown as jest.Mocked<T>;
}
