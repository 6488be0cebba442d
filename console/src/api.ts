import { OmnigentClient, OmnigentError } from '@omnigent-server/client';
import type { components } from '@omnigent-server/client';

export type FileResource = components['schemas']['FileResourceDto'];
export type Host = components['schemas']['HostResponseDto'];

/** The token lives in sessionStorage only: never in a URL, gone when the tab closes. */
const TOKEN_KEY = 'omnigent.console.token';

export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
  }
}

/** A client for the server that served this page (same origin: CSP `connect-src 'self'`). */
export function makeClient(token = storedToken()): OmnigentClient {
  return new OmnigentClient({ baseUrl: window.location.origin, token });
}

/** Who the server says we are; an OmnigentError 401 when a token is needed or refused. */
export function whoAmI(client: OmnigentClient): Promise<{ id?: string; admin?: boolean }> {
  return client.call(client.raw.GET('/v1/me')) as Promise<{ id?: string; admin?: boolean }>;
}

export async function listHosts(client: OmnigentClient): Promise<Host[]> {
  return (await client.call(client.raw.GET('/v1/hosts'))).hosts;
}

export async function listFiles(
  client: OmnigentClient,
  sessionId: string,
): Promise<FileResource[]> {
  const page = await client.call(
    client.raw.GET('/v1/sessions/{session_id}/resources/files', {
      params: { path: { session_id: sessionId }, query: { limit: 100 } },
    }),
  );
  return page.data;
}

export function uploadFile(
  client: OmnigentClient,
  sessionId: string,
  file: File,
): Promise<FileResource> {
  const form = new FormData();
  form.append('file', file, file.name);
  return client.call(
    client.raw.POST('/v1/sessions/{session_id}/resources/files', {
      params: { path: { session_id: sessionId } },
      // The generated body type describes the multipart fields; the browser encodes FormData.
      body: form as unknown as never,
      bodySerializer: (body: unknown) => body as FormData,
    }),
  );
}

export async function downloadFile(
  client: OmnigentClient,
  sessionId: string,
  file: FileResource,
): Promise<void> {
  const blob = (await client.call(
    client.raw.GET('/v1/sessions/{session_id}/resources/files/{file_id}/content', {
      params: { path: { session_id: sessionId, file_id: file.id } },
      parseAs: 'blob',
    }),
  )) as unknown as Blob;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = file.name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A line a person can read for any failure. */
export function describeError(error: unknown): string {
  if (error instanceof OmnigentError) {
    if (error.status === 0) {
      return `The server could not be reached (${error.message}).`;
    }
    return `${error.message} (${error.status} ${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function isUnauthorized(error: unknown): boolean {
  return error instanceof OmnigentError && error.status === 401;
}
