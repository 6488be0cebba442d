import type { IncomingHttpHeaders } from 'node:http';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import type { AppConfig } from 'src/config/app-config';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];

/** The Host header names this machine (optionally with a port), or one of the configured names. */
export function isLoopbackHost(host: string, allowed: readonly string[] = []): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return LOOPBACK_NAMES.includes(name.toLowerCase()) || allowed.includes(name.toLowerCase());
}

/** Origins accepted in local mode: loopback pages and first-party clients (`omnigent://internal`). */
export function isTrustedLocalOrigin(origin: string): boolean {
  if (origin === 'omnigent://internal') {
    return true;
  }
  try {
    const url = new URL(origin);
    return LOOPBACK_NAMES.includes(url.hostname.toLowerCase());
  } catch {
    return false;
  }
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) {
    return false;
  }
  return (
    address === '::1' ||
    address.startsWith('127.') ||
    address === '::ffff:127.0.0.1' ||
    address.startsWith('::ffff:127.')
  );
}

/** In `none` mode a daemon (runner or host) must connect from this machine: 401 otherwise. */
export function assertLoopbackDaemon(
  address: string | undefined,
  daemons: 'Hosts' | 'Runners',
): void {
  if (!isLoopbackAddress(address)) {
    throw new DomainError(
      ErrorCode.Unauthorized,
      `${daemons} must connect from this machine in local mode`,
    );
  }
}

export interface LocalCallerCheck {
  /** Names the refused thing in the 403 message. */
  kind: 'request' | 'websocket';
  /** Also refuse a Host header that does not name this machine (DNS rebinding). */
  checkHost: boolean;
}

/**
 * The one local-mode gate: `none` mode trusts every caller as the local user, so a browser page
 * from another site (Origin) is refused with 403, and with `checkHost` so is a Host header that
 * names another machine, unless `OMNIGENT_ALLOW_REMOTE_NOAUTH` is set. Absent headers pass:
 * non-browser clients send no Origin. Does nothing in `jwt` mode.
 */
export function assertLocalCaller(
  headers: IncomingHttpHeaders,
  config: Pick<AppConfig, 'auth' | 'http'>,
  check: LocalCallerCheck,
): void {
  if (config.auth.mode !== 'none') {
    return;
  }
  const origin = headers.origin;
  if (origin !== undefined && !isTrustedLocalOrigin(origin)) {
    const what = check.kind === 'websocket' ? 'WebSocket connections' : 'requests';
    throw new DomainError(ErrorCode.Forbidden, `Cross-site ${what} are not allowed in local mode`);
  }
  const host = headers.host;
  if (
    check.checkHost &&
    host !== undefined &&
    !isLoopbackHost(host, config.http.allowedHosts) &&
    !config.auth.allowRemoteNoAuth
  ) {
    throw new DomainError(ErrorCode.Forbidden, `Host '${host}' is not allowed in local mode`);
  }
}
