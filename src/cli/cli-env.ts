import { homedir } from 'node:os';
import { join } from 'node:path';

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
