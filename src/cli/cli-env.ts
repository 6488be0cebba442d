import { homedir } from 'node:os';
import { join } from 'node:path';

import { Option } from 'commander';

import { UsageError } from 'src/cli/cli-command';

/** Environment defaults shared by the client-side commands (chat, runner). */
export function defaultServerUrl(): string {
  return (
    process.env.OMNIGENT_SERVER_URL ?? `http://127.0.0.1:${process.env.OMNIGENT_PORT ?? '6767'}`
  );
}

export function defaultToken(): string | undefined {
  return process.env.OMNIGENT_TOKEN || undefined;
}

export function defaultRunnerWorkspace(): string {
  return join(process.env.OMNIGENT_DATA_DIR ?? join(homedir(), '.omnigent'), 'workspaces');
}

/** `--server`, shown with its environment variable in the command's help. */
export function serverOption(): Option {
  return new Option(
    '--server <url>',
    'server base URL, with http:// or https:// (default http://127.0.0.1:$OMNIGENT_PORT, port 6767)',
  ).env('OMNIGENT_SERVER_URL');
}

/** `--token`, shown with its environment variable in the command's help. */
export function tokenOption(): Option {
  return new Option(
    '--token <jwt>',
    'bearer token; not needed against a local server without auth',
  ).env('OMNIGENT_TOKEN');
}

/** The server URL, or a usage error: `localhost:6767` (no scheme) is an invalid URL, not a host. */
export function checkServerUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(
      `invalid URL '${value}' for --server: include the scheme, e.g. http://127.0.0.1:6767`,
    );
  }
  return value;
}
