import { HOST_SUBPROTOCOL } from 'src/protocol/host-protocol';
import { RUNNER_SUBPROTOCOL } from 'src/protocol/runner-protocol';

/** A WebSocket endpoint: OpenAPI 3.0 cannot describe one as a path, so /docs lists them. */
export interface WebSocketRoute {
  path: string;
  subprotocol: string;
  auth: string;
  description: string;
}

/** Every WebSocket endpoint the server accepts (spec/runner-protocol.md §3). */
export const WEBSOCKET_ROUTES: WebSocketRoute[] = [
  {
    path: '/v1/runners/{runner_id}/channel',
    subprotocol: RUNNER_SUBPROTOCOL,
    auth:
      'Authorization: Bearer <user token>, or X-Omnigent-Runner-Tunnel-Token: <binding token> ' +
      '(runner_token_… ids); loopback without a token in OMNIGENT_AUTH=none.',
    description:
      'The runner channel: JSON-RPC 2.0, one message per text frame (16 MiB max). The first ' +
      'message must be `runner.hello` within 10 s (else close 4001); `$/heartbeat` every 15 s, ' +
      'dead after 45 s (4003). Refused before the upgrade with a JSON error body: 401, 403, 404.',
  },
  {
    path: '/v1/hosts/{host_id}/channel',
    subprotocol: HOST_SUBPROTOCOL,
    auth: 'Authorization: Bearer <user token>.',
    description:
      'The host daemon channel (`omnigent host`): JSON-RPC 2.0 like the runner channel; the first ' +
      'message must be `host.hello` within 10 s. The newest connection for a host wins. Refused ' +
      'before the upgrade: 401, 403, 409 when the host id is registered to another user.',
  },
];

/** The `channels` tag text shown on /docs. */
export function websocketTagDescription(): string {
  const lines = WEBSOCKET_ROUTES.map(
    (r) =>
      `- \`GET ${r.path}\` (WebSocket, subprotocol \`${r.subprotocol}\`): ${r.description} ` +
      `Auth: ${r.auth}`,
  );
  return [
    'WebSocket endpoints (not callable from this page; also listed under `x-websocket-routes`). ' +
      'Close codes: 4000 replaced, 4001 protocol error, 4002 version, 4003 heartbeat timeout, ' +
      '4004 auth failure, 4005 server shutdown.',
    ...lines,
  ].join('\n');
}
