import WebSocket from 'ws';

/** The runner channel URL (`ws://…/v1/runners/{id}/channel`) of a server at `serverUrl`. */
export function runnerChannelUrl(serverUrl: string, runnerId: string): string {
  return `${serverUrl.replace(/^http/, 'ws')}/v1/runners/${runnerId}/channel`;
}

export interface UpgradeOutcome {
  /** 101 when the channel opened, else the HTTP status of the refusal. */
  status: number;
  /** The refusal's body ('' when it opened). */
  body: string;
  /** Open when status is 101 (the caller closes it); nothing is said on it. */
  ws: WebSocket;
}

/** Tries a WebSocket upgrade (runner or host channel) without saying hello. */
export function tryUpgrade(
  wsUrl: string,
  protocol: string | undefined,
  headers: Record<string, string> = {},
): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, protocol === undefined ? [] : [protocol], { headers });
    ws.once('open', () => resolve({ status: 101, body: '', ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ws }));
    });
    // Kept for the socket's life: a late error must not go unhandled.
    ws.on('error', reject);
  });
}

/** The status a channel upgrade gets (101 when accepted); the socket is closed again. */
export async function upgradeStatus(
  wsUrl: string,
  protocol: string | undefined,
  headers: Record<string, string> = {},
): Promise<number> {
  const { status, ws } = await tryUpgrade(wsUrl, protocol, headers);
  if (status === 101) {
    ws.close();
  } else {
    ws.terminate();
  }
  return status;
}
