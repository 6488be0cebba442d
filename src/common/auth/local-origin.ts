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
