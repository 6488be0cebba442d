import {
  assertLocalCaller,
  assertLoopbackDaemon,
  isLoopbackAddress,
  isLoopbackHost,
  isTrustedLocalOrigin,
} from 'src/common/auth/local-origin';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { AppConfig, getConfig } from 'src/config/app-config';

function config(env: Record<string, string> = {}): AppConfig {
  return getConfig({ OMNIGENT_AUTH: 'none', ...env });
}

function refusal(fn: () => void): DomainError | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error as DomainError;
  }
}

describe(isLoopbackHost.name, () => {
  it.each(['localhost', 'LOCALHOST:6767', '127.0.0.1', '127.0.0.1:80', '[::1]', '[::1]:6767'])(
    'should accept %p',
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );

  it.each(['evil.example', 'localhost.evil.example', '127.0.0.2', '[::2]:6767', '10.0.0.1:6767'])(
    'should refuse %p',
    (host) => expect(isLoopbackHost(host)).toBe(false),
  );

  it('should accept a configured name with any port', () => {
    expect(isLoopbackHost('box.local:6767', ['box.local'])).toBe(true);
  });
});

describe(isTrustedLocalOrigin.name, () => {
  it.each([
    'http://localhost:3000',
    'https://127.0.0.1',
    'http://[::1]:5173',
    'omnigent://internal',
  ])('should trust %p', (origin) => expect(isTrustedLocalOrigin(origin)).toBe(true));

  it.each([
    'https://evil.example',
    'http://localhost.evil.example',
    'http://[::2]',
    'null',
    'omnigent://other',
  ])('should not trust %p', (origin) => expect(isTrustedLocalOrigin(origin)).toBe(false));
});

describe(isLoopbackAddress.name, () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])('should accept %p', (address) =>
    expect(isLoopbackAddress(address)).toBe(true),
  );

  it.each([undefined, '', '10.0.0.1', '::ffff:10.0.0.1', '::2'])('should refuse %p', (address) =>
    expect(isLoopbackAddress(address)).toBe(false),
  );
});

describe(assertLoopbackDaemon.name, () => {
  it('should let a daemon on this machine through and refuse another with 401', () => {
    expect(() => assertLoopbackDaemon('::ffff:127.0.0.1', 'Runners')).not.toThrow();
    const error = refusal(() => assertLoopbackDaemon('10.0.0.7', 'Hosts'));
    expect(error?.code).toBe(ErrorCode.Unauthorized);
    expect(error?.message).toBe('Hosts must connect from this machine in local mode');
  });
});

describe(assertLocalCaller.name, () => {
  const request = { checkHost: true, kind: 'request' } as const;

  it('should let a caller without Origin or Host through', () => {
    expect(() => assertLocalCaller({}, config(), request)).not.toThrow();
  });

  it('should let a loopback page on a loopback host through, IPv6 included', () => {
    const headers = { host: '[::1]:6767', origin: 'http://[::1]:6767' };
    expect(() => assertLocalCaller(headers, config(), request)).not.toThrow();
  });

  it('should refuse a foreign Origin with 403, naming what was refused', () => {
    const headers = { host: 'localhost:6767', origin: 'https://evil.example' };
    const error = refusal(() => assertLocalCaller(headers, config(), request));
    expect(error).toBeInstanceOf(DomainError);
    expect(error?.code).toBe(ErrorCode.Forbidden);
    expect(error?.message).toBe('Cross-site requests are not allowed in local mode');
    const ws = refusal(() =>
      assertLocalCaller(headers, config(), { checkHost: false, kind: 'websocket' }),
    );
    expect(ws?.message).toBe('Cross-site WebSocket connections are not allowed in local mode');
  });

  it('should refuse a foreign Host (DNS rebinding) unless told not to check it', () => {
    const headers = { host: 'evil.example:6767' };
    const error = refusal(() => assertLocalCaller(headers, config(), request));
    expect(error?.code).toBe(ErrorCode.Forbidden);
    expect(error?.message).toBe("Host 'evil.example:6767' is not allowed in local mode");
    expect(() =>
      assertLocalCaller(headers, config(), { checkHost: false, kind: 'websocket' }),
    ).not.toThrow();
  });

  it('should accept a configured host name, and any Host when remote no-auth is allowed', () => {
    const allowed = config({ OMNIGENT_ALLOWED_HOSTS: 'box.local' });
    expect(() => assertLocalCaller({ host: 'box.local:6767' }, allowed, request)).not.toThrow();
    const remote = config({ OMNIGENT_ALLOW_REMOTE_NOAUTH: 'true' });
    expect(() => assertLocalCaller({ host: 'evil.example' }, remote, request)).not.toThrow();
    const origin = { host: 'evil.example', origin: 'https://evil.example' };
    expect(refusal(() => assertLocalCaller(origin, remote, request))?.code).toBe(
      ErrorCode.Forbidden,
    );
  });

  it('should check nothing in jwt mode', () => {
    const jwt = config({ OMNIGENT_AUTH: 'jwt', OMNIGENT_JWT_SECRET: 'x'.repeat(32) });
    const headers = { host: 'evil.example', origin: 'https://evil.example' };
    expect(() => assertLocalCaller(headers, jwt, request)).not.toThrow();
  });
});
