/** A thin JSON client for tests that talk to a server process over real HTTP. */
export interface HttpApi {
  url: string;
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  /** Like request, but throws unless the status is 2xx. */
  ok<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T>;
  agentId(name: string): Promise<string>;
  createSession(
    agentName: string,
    extra?: Record<string, unknown>,
  ): Promise<{ id: string; runner_id: string | null }>;
  bind(sessionId: string, runnerId: string): Promise<Record<string, unknown>>;
  say(sessionId: string, text: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

export function httpApi(url: string, token?: string): HttpApi {
  const request = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(new URL(path, url), {
      method,
      headers: {
        Origin: 'omnigent://internal',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const api: HttpApi = {
    url,
    request,
    async ok<T>(method: string, path: string, body?: unknown) {
      const res = await request<T>(method, path, body);
      if (res.status < 200 || res.status >= 300) {
        throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
      }
      return res.body;
    },
    async agentId(name) {
      const list = await api.ok<{ data: { id: string; name: string }[] }>(
        'GET',
        '/v1/agents?limit=1000',
      );
      const agent = list.data.find((a) => a.name === name);
      if (!agent) {
        throw new Error(`no agent ${name}`);
      }
      return agent.id;
    },
    async createSession(agentName, extra = {}) {
      return api.ok('POST', '/v1/sessions', { agent_id: await api.agentId(agentName), ...extra });
    },
    bind: (sessionId, runnerId) =>
      api.ok('PATCH', `/v1/sessions/${sessionId}`, { runner_id: runnerId }),
    say: (sessionId, text) =>
      request('POST', `/v1/sessions/${sessionId}/events`, {
        type: 'message',
        data: { role: 'user', content: [{ type: 'input_text', text }] },
      }),
  };
  return api;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the check passes or the timeout elapses (then rethrows its last failure). */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) {
        throw error;
      }
      await sleep(everyMs);
    }
  }
}
