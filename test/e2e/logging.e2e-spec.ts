import { ServerProcess, startServer } from 'test/utils/processes';

const SECRET = 'a-very-secret-signing-key-of-at-least-32-chars';
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface LogLine {
  level: string;
  time: string;
  msg: string;
  context?: string;
  reqId?: string;
  method?: string;
  route?: string;
  url?: string;
  status?: number;
  ms?: number;
  user?: string;
}

function lines(server: ServerProcess): LogLine[] {
  return server
    .output()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogLine);
}

async function waitForLine(
  server: ServerProcess,
  match: (l: LogLine) => boolean,
): Promise<LogLine> {
  for (let i = 0; i < 100; i++) {
    const found = lines(server).find(match);
    if (found) {
      return found;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no such log line in:\n${server.output()}`);
}

describe('logs of a running server', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    // stdout is a pipe here: the default format is JSON.
    server = await startServer({
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
      OMNIGENT_LOG_FORMAT: undefined,
    });
  });
  afterAll(() => server?.stop());

  it('should print only JSON lines with ISO millisecond times and no colour codes', () => {
    const all = lines(server);
    expect(all.length).toBeGreaterThan(0);
    for (const line of all) {
      expect(line.time).toMatch(ISO_MS);
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
    }
    // eslint-disable-next-line no-control-regex
    expect(server.output()).not.toMatch(/\u001b\[/);
  });

  it('should trim start-up to a few useful lines', () => {
    const startup = lines(server);
    expect(startup.length).toBeLessThanOrEqual(6);
    expect(startup.some((l) => /Listening on http/.test(l.msg))).toBe(true);
    expect(startup.some((l) => /Mapped \{/.test(l.msg))).toBe(false);
  });

  it('should log one info line per request with method, route, status, ms and user', async () => {
    const res = await fetch(`${server.url}/v1/sessions/conv_0123?limit=1`, {
      headers: { 'X-Request-Id': 'trace-42' },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('trace-42');
    const line = await waitForLine(server, (l) => l.reqId === 'trace-42');
    expect(line).toMatchObject({
      level: 'info',
      method: 'GET',
      route: '/v1/sessions/:session_id',
      status: 404,
      user: 'local',
    });
    expect(typeof line.ms).toBe('number');
    expect(lines(server).filter((l) => l.reqId === 'trace-42')).toHaveLength(1);
  });

  it('should replace an unsafe or too long request id and put it on every line of the request', async () => {
    for (const bad of ['x'.repeat(65), 'has spaces', '']) {
      const res = await fetch(`${server.url}/v1/me`, { headers: { 'X-Request-Id': bad } });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    }
    const kept = await fetch(`${server.url}/v1/me`, { headers: { 'X-Request-Id': 'a' } });
    expect(kept.headers.get('x-request-id')).toBe('a');

    const agents = (await (await fetch(`${server.url}/v1/agents?limit=1000`)).json()) as {
      data: { id: string; name: string }[];
    };
    const echo = agents.data.find((a) => a.name === 'echo')?.id;
    const created = await fetch(`${server.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'create-1' },
      body: JSON.stringify({ agent_id: echo }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const appLine = await waitForLine(server, (l) => l.msg.includes(`Session ${id} created`));
    expect(appLine.reqId).toBe('create-1');
    expect(appLine.context).toBe('Sessions');
  });

  it('should redact credentials and secret query values', async () => {
    await fetch(`${server.url}/v1/me?token=leaky-query-value`, {
      headers: { Authorization: `Bearer ${SECRET}` },
    });
    const line = await waitForLine(server, (l) => l.url?.startsWith('/v1/me?') ?? false);
    expect(line.url).toBe('/v1/me?token=[Redacted]');
    expect(server.output()).not.toContain('leaky-query-value');
    expect(server.output()).not.toContain(SECRET);
  });
});
