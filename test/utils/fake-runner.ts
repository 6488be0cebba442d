import { randomBytes } from 'node:crypto';

import WebSocket from 'ws';

import { JsonRpcErrorObject, JsonRpcPeer, RpcError } from 'src/protocol/json-rpc';
import {
  HelloResult,
  HelloSession,
  Methods,
  RUNNER_PROTOCOL_VERSION,
  RUNNER_RPC_ERROR,
  RUNNER_SUBPROTOCOL,
  RunnerErrorCode,
} from 'src/protocol/runner-protocol';
import { runnerChannelUrl } from 'test/utils/channel-upgrade';

/** One request or notification the server sent to the runner. */
export interface ReceivedCall {
  method: string;
  params: Record<string, unknown>;
}

export interface FakeRunnerOptions {
  /** Bearer token of the runner's owner (jwt mode); none in `none` mode. */
  token?: string;
  runnerId?: string;
  /** Sessions the runner says it holds in `runner.hello`. */
  sessions?: HelloSession[];
  /** Answers a server request; the default answers like an idle reference runner. */
  answer?(method: string, params: Record<string, unknown>): unknown;
}

/**
 * A runner channel client that records everything the server sends it and answers like an
 * idle runner, for tests that assert what a runner may or may not receive.
 */
export interface FakeRunner {
  readonly runnerId: string;
  readonly hello: HelloResult;
  /** Every request and notification received, in order. */
  readonly received: ReceivedCall[];
  /** Every session id the server mentioned to this runner. */
  sessionIds(): Set<string>;
  waitFor(match: (call: ReceivedCall) => boolean, timeoutMs?: number): Promise<ReceivedCall>;
  request<T>(method: string, params: unknown): Promise<T>;
  notify(method: string, params: unknown): void;
  /** A durable `session.event` at `seq`, of the turn `turnId` when one is given. */
  sendEvent(sessionId: string, seq: number, event: Record<string, unknown>, turnId?: string): void;
  /** Sends one frame as it is (a batch, or something malformed). */
  sendRaw(text: string): void;
  /** Error answers not tied to a request (`id: null`), e.g. a refused batch. */
  readonly frameErrors: JsonRpcErrorObject[];
  /** The close code the channel ended with, once it ends. */
  readonly closeCode: Promise<number>;
  close(): Promise<void>;
}

/** Answers like an idle reference runner. */
export function defaultAnswer(method: string): unknown {
  switch (method) {
    case Methods.sessionInit:
      return { status: 'idle' };
    case Methods.turnStart:
      return { disposition: 'started' };
    case Methods.turnCancel:
      return { cancelled: false };
    case Methods.clientToolResult:
      return { delivered: false };
    default:
      return {};
  }
}

/**
 * Answers like a runner that holds only the sessions it was sent `session.init` for (one that
 * restarted): `turn.start` for any other session is `session_unknown`. `onTurnStart` sees each
 * turn it accepts.
 */
export function initOnDemandAnswer(
  onTurnStart?: (params: Record<string, unknown>) => void,
): NonNullable<FakeRunnerOptions['answer']> {
  const known = new Set<string>();
  return (method, params) => {
    const sessionId = params.session_id as string;
    if (method === Methods.sessionInit) {
      known.add(sessionId);
    }
    if (method === Methods.turnStart) {
      if (!known.has(sessionId)) {
        throw new RpcError(RUNNER_RPC_ERROR[RunnerErrorCode.SessionUnknown], 'unknown', {
          code: RunnerErrorCode.SessionUnknown,
        });
      }
      onTurnStart?.(params);
    }
    return defaultAnswer(method);
  };
}

export async function connectFakeRunner(
  serverUrl: string,
  options: FakeRunnerOptions = {},
): Promise<FakeRunner> {
  const runnerId = options.runnerId ?? `runner_${randomBytes(16).toString('hex')}`;
  const received: ReceivedCall[] = [];
  const waiters = new Set<() => void>();
  const ws = new WebSocket(runnerChannelUrl(serverUrl, runnerId), RUNNER_SUBPROTOCOL, {
    headers: options.token ? { Authorization: `Bearer ${options.token}` } : {},
  });
  const record = (method: string, params: unknown) => {
    received.push({ method, params: (params ?? {}) as Record<string, unknown> });
    waiters.forEach((wake) => wake());
  };
  const peer = new JsonRpcPeer({
    send: (text) => ws.send(text),
    onRequest: (method, params) => {
      record(method, params);
      const p = (params ?? {}) as Record<string, unknown>;
      return options.answer ? options.answer(method, p) : defaultAnswer(method);
    },
    onNotification: (method, params) => {
      if (method !== Methods.heartbeat) {
        record(method, params);
      }
    },
  });
  const frameErrors: JsonRpcErrorObject[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    const parsed = JSON.parse(text) as { id?: unknown; error?: JsonRpcErrorObject };
    if (parsed && parsed.id === null && parsed.error) {
      frameErrors.push(parsed.error);
    }
    peer.handleFrame(text);
  });
  const closeCode = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const closed = closeCode.then(() => undefined);
  ws.once('close', () => peer.close());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`channel upgrade refused: ${res.statusCode}`)),
    );
  });
  const hello = await peer.request<HelloResult>(
    Methods.hello,
    {
      protocol: RUNNER_PROTOCOL_VERSION,
      runner_version: 'fake',
      capabilities: { harnesses: ['echo'], tools: [] },
      sessions: options.sessions ?? [],
    },
    10_000,
  );
  return {
    runnerId,
    hello,
    received,
    sessionIds: () =>
      new Set(
        received
          .map((call) => call.params.session_id)
          .filter((id): id is string => typeof id === 'string'),
      ),
    waitFor(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = received.find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching call; received: ${JSON.stringify(received)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    request: (method, params) => peer.request(method, params, 10_000),
    notify: (method, params) => peer.notify(method, params),
    sendEvent: (sessionId, seq, event, turnId) =>
      peer.notify(Methods.sessionEvent, {
        session_id: sessionId,
        seq,
        ...(turnId === undefined ? {} : { turn_id: turnId }),
        durable: true,
        event,
      }),
    sendRaw: (text) => ws.send(text),
    frameErrors,
    closeCode,
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) {
        ws.close();
        await closed;
      }
    },
  };
}
