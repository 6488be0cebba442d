import createFetchClient, { type Client } from 'openapi-fetch';

import { OmnigentError } from './errors.js';
import type { components, operations, paths } from './generated/openapi.js';
import { type QueryOptions, ResponseSession, ResponsesApi } from './responses.js';
import { SessionStream, type SessionStreamOptions } from './stream.js';

type Schemas = components['schemas'];
export type Agent = Schemas['AgentResponseDto'];
export type AgentList = Schemas['AgentListResponseDto'];
export type CreateSessionRequest = Schemas['CreateSessionDto'];
export type EventAck = Schemas['EventAckResponseDto'];
export type ItemList = Schemas['ItemListResponseDto'];
export type Runner = Schemas['RunnerSummaryDto'];
export type RunnerList = Schemas['RunnerListResponseDto'];
export type ServerInfo = Schemas['ServerInfoResponseDto'];
export type Session = Schemas['SessionResponseDto'];
export type SessionEvent = Schemas['SessionEventInputDto'];
export type SessionList = Schemas['SessionListResponseDto'];
export type UpdateSessionRequest = Schemas['UpdateSessionDto'];
export type ListSessionsQuery = NonNullable<
  operations['SessionsController_list']['parameters']['query']
>;
export type ListItemsQuery = NonNullable<
  operations['SessionsController_items']['parameters']['query']
>;

/** The answer to an approval prompt (`response.elicitation_request`). */
export interface ElicitationAnswer {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, string | number | boolean | string[] | null>;
}

export interface OmnigentClientOptions {
  /** The server, e.g. `http://127.0.0.1:6767` (scheme required). */
  baseUrl: string;
  /** A bearer token (JWT); not needed against a local server in `OMNIGENT_AUTH=none` mode. */
  token?: string;
  /** Extra headers sent on every request. */
  headers?: Record<string, string>;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

/**
 * A typed client for the Omnigent server. Every method resolves with the response body or
 * rejects with an `OmnigentError`; `raw` is the generated `openapi-fetch` client for the routes
 * this layer does not wrap.
 */
export class OmnigentClient {
  readonly baseUrl: string;
  readonly raw: Client<paths>;
  readonly agents: AgentsApi;
  readonly responses: ResponsesApi;
  readonly runners: RunnersApi;
  readonly sessions: SessionsApi;
  private readonly fetchImpl: typeof fetch;
  private readonly headerValues: Record<string, string>;

  constructor(options: OmnigentClientOptions) {
    this.baseUrl = checkBaseUrl(options.baseUrl);
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.headerValues = {
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    };
    this.raw = createFetchClient<paths>({
      baseUrl: this.baseUrl,
      headers: this.headerValues,
      fetch: (request: Request) => this.fetchImpl(request),
    });
    this.agents = new AgentsApi(this);
    this.responses = new ResponsesApi({
      baseUrl: this.baseUrl,
      fetch: this.fetchImpl,
      headers: () => this.headers(),
      request: (method, path, body) => this.request(method, path, body),
    });
    this.runners = new RunnersApi(this);
    this.sessions = new SessionsApi(this);
  }

  /**
   * One turn of an agent over `/v1/responses`, as upstream Python's `client.query()`: resolves
   * with the reply's text, or with `stream: true` yields it as it streams. Pass
   * `previousResponseId` to continue a chain, or use `session()` to have it threaded.
   */
  query(options: QueryOptions & { stream: true }): AsyncGenerator<string>;
  query(options: QueryOptions & { stream?: false }): Promise<string>;
  query(options: QueryOptions & { stream?: boolean }): Promise<string> | AsyncGenerator<string> {
    const session = this.session(options.model, { previousResponseId: options.previousResponseId });
    return options.stream
      ? session.queryStream(options.input, { signal: options.signal })
      : session.query(options.input, { signal: options.signal });
  }

  /** A chain of queries on one agent that keeps the context, as upstream's `client.session()`. */
  session(model: string, options: { previousResponseId?: string } = {}): ResponseSession {
    return new ResponseSession(this.responses, model, options);
  }

  /** `GET /v1/info`: the server's version and capabilities. */
  info(): Promise<ServerInfo> {
    return this.call(this.raw.GET('/v1/info'));
  }

  /** Awaits an openapi-fetch call: its data, or an `OmnigentError`. */
  async call<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    let result: { data?: T; error?: unknown; response: Response };
    try {
      result = await pending;
    } catch (error) {
      throw OmnigentError.connection(this.baseUrl, error);
    }
    if (!result.response.ok) {
      throw OmnigentError.fromResponse(result.response, result.error);
    }
    return result.data as T;
  }

  /** @internal The headers every request carries. */
  headers(): Record<string, string> {
    return { ...this.headerValues };
  }

  /** @internal A JSON request to a route outside the generated spec (hidden upstream routes). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchImpl(new URL(path, this.baseUrl), {
        method,
        headers: {
          ...this.headerValues,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw OmnigentError.connection(this.baseUrl, error);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      throw OmnigentError.fromResponse(response, parsed);
    }
    return parsed as T;
  }

  /** @internal */
  streamTransport(path: string) {
    return {
      url: new URL(path, this.baseUrl).toString(),
      baseUrl: this.baseUrl,
      headers: () => this.headers(),
      fetch: this.fetchImpl,
    };
  }
}

export class AgentsApi {
  constructor(private readonly client: OmnigentClient) {}

  /** Every agent the caller can use (all pages). */
  async list(): Promise<Agent[]> {
    const agents: Agent[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.client.call(
        this.client.raw.GET('/v1/agents', { params: { query: { limit: 1000, after } } }),
      );
      agents.push(...page.data);
      if (!page.has_more || !page.last_id) {
        return agents;
      }
      after = page.last_id;
    }
  }

  /** The agent with this name, or an `OmnigentError` 404 listing the names that exist. */
  async getByName(name: string): Promise<Agent> {
    const agents = await this.list();
    const found = agents.find((agent) => agent.name === name);
    if (!found) {
      const names = agents.map((agent) => agent.name).join(', ');
      throw new OmnigentError(
        404,
        'not_found',
        `No agent named '${name}'. Available agents: ${names || '(none)'}`,
      );
    }
    return found;
  }
}

export class RunnersApi {
  constructor(private readonly client: OmnigentClient) {}

  /** The caller's runners, with whether each is online. */
  async list(): Promise<Runner[]> {
    return (await this.client.call(this.client.raw.GET('/v1/runners'))).data;
  }
}

export class SessionsApi {
  constructor(private readonly client: OmnigentClient) {}

  create(body: CreateSessionRequest): Promise<Session> {
    return this.client.call(this.client.raw.POST('/v1/sessions', { body }));
  }

  get(sessionId: string): Promise<Session> {
    return this.client.call(
      this.client.raw.GET('/v1/sessions/{session_id}', {
        params: { path: { session_id: sessionId } },
      }),
    );
  }

  list(query: ListSessionsQuery = {}): Promise<SessionList> {
    return this.client.call(this.client.raw.GET('/v1/sessions', { params: { query } }));
  }

  update(sessionId: string, body: UpdateSessionRequest): Promise<Session> {
    return this.client.call(
      this.client.raw.PATCH('/v1/sessions/{session_id}', {
        params: { path: { session_id: sessionId } },
        body,
      }),
    );
  }

  delete(sessionId: string): Promise<Schemas['SessionDeletedResponseDto']> {
    return this.client.call(
      this.client.raw.DELETE('/v1/sessions/{session_id}', {
        params: { path: { session_id: sessionId } },
      }),
    );
  }

  items(sessionId: string, query: ListItemsQuery = {}): Promise<ItemList> {
    return this.client.call(
      this.client.raw.GET('/v1/sessions/{session_id}/items', {
        params: { path: { session_id: sessionId }, query },
      }),
    );
  }

  /** `POST /v1/sessions/{id}/events` with any event (`message`, `interrupt`, `approval`…). */
  postEvent(sessionId: string, event: SessionEvent): Promise<EventAck> {
    return this.client.call(
      this.client.raw.POST('/v1/sessions/{session_id}/events', {
        params: { path: { session_id: sessionId } },
        body: event,
      }),
    );
  }

  /** Sends a user message; the ack's `item_id` is the stored message (see `session.input.consumed`). */
  send(sessionId: string, text: string): Promise<EventAck> {
    return this.postEvent(sessionId, {
      type: 'message',
      data: { role: 'user', content: [{ type: 'input_text', text }] },
    });
  }

  /** Interrupts the running turn (it ends with `response.incomplete`). */
  interrupt(sessionId: string): Promise<EventAck> {
    return this.postEvent(sessionId, { type: 'interrupt', data: {} });
  }

  /** Answers an approval prompt (`response.elicitation_request`) by its resolve URL. */
  resolveElicitation(
    sessionId: string,
    elicitationId: string,
    answer: ElicitationAnswer,
  ): Promise<{ queued: boolean }> {
    return this.client.request(
      'POST',
      `/v1/sessions/${encodeURIComponent(sessionId)}/elicitations/${encodeURIComponent(elicitationId)}/resolve`,
      answer,
    );
  }

  /** The session's event stream; see `SessionStream` for reconnect and resume. */
  stream(sessionId: string, options: SessionStreamOptions = {}): SessionStream {
    return new SessionStream(
      this.client.streamTransport(`/v1/sessions/${encodeURIComponent(sessionId)}/stream`),
      options,
    );
  }
}

function checkBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OmnigentError(
      0,
      'invalid_url',
      `Invalid URL '${value}': expected http(s)://host:port`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OmnigentError(
      0,
      'invalid_url',
      `Invalid URL '${value}': the scheme must be http:// or https://`,
    );
  }
  return url.toString().replace(/\/+$/, '');
}
