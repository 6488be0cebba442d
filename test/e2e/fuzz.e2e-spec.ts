import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import fc from 'fast-check';

import { mintToken } from 'src/common/auth/token-signer';
import { TestApp, useTestApp } from 'test/e2e/create-app';
import {
  Caller,
  Fixture,
  FuzzRequest,
  FuzzResponse,
  OpenApiDocument,
  requestsFor,
  send,
  Target,
} from 'test/e2e/fuzz-requests';
import { bundleOf, echoAgentConfig } from 'test/utils/agent-bundle';
import { JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { ECHO_ID } from 'test/utils/session-e2e';

/**
 * Property-based fuzzing of every route in the live OpenAPI document (issue 16): hostile path,
 * query, header and body values never get a 5xx, and every 4xx carries the documented error
 * body. Seeded: a failure prints OMNIGENT_FUZZ_SEED to replay it; OMNIGENT_FUZZ_RUNS scales the
 * number of requests per route (default 40, about 800 requests in all).
 */
const SEED = Number(process.env.OMNIGENT_FUZZ_SEED ?? randomBytes(4).readUInt32BE() >>> 1);
const RUNS = Number(process.env.OMNIGENT_FUZZ_RUNS ?? 40);
const BODY_LIMIT = 256 * 1024;
const USER_MESSAGE = {
  type: 'message',
  data: { role: 'user', content: [{ type: 'input_text', text: 'hello' }] },
};
const ASSISTANT_MESSAGE = {
  type: 'message',
  data: { role: 'assistant', content: [{ type: 'output_text', text: 'stored as is' }] },
};
/**
 * OMNIGENT_FUZZ_STATS=1 prints how often each route answered each status and code (to check
 * that requests get past validation); =2 also shows the first 422 detail's loc and type.
 */
const STATS = process.env.OMNIGENT_FUZZ_STATS ?? '';

function statusKey(res: FuzzResponse): string {
  const code = /"code":"(\w+)"/.exec(res.text)?.[1] ?? '';
  const detail =
    STATS === '2'
      ? (/"loc":(\[[^\]]*\]),"msg":"[^"]*","type":"(\w+)"/.exec(res.text)?.slice(1) ?? [])
      : [];
  return [res.status, code, ...detail].join(' ').trim();
}

/** What Swagger serves outside the controllers, and the request logger's catch-all middleware. */
const isSwaggerPath = (path: string) =>
  path === '/docs' ||
  path.startsWith('/docs/') ||
  /^\/openapi\.(json|yaml)$/.test(path) ||
  path === '{/*splat}';

/**
 * The one 5xx a route documents for valid input: posting a user message with no runner
 * connected (spec/api-reference.md §3.1, POST …/events: 503 runner_unavailable).
 */
function documented5xx(req: FuzzRequest, res: FuzzResponse, body: Record<string, unknown>) {
  return (
    req.route === 'POST /v1/sessions/{session_id}/events' &&
    res.status === 503 &&
    body.code === 'runner_unavailable'
  );
}

function describeRequest(req: FuzzRequest): string {
  const body = req.body?.toString('utf8') ?? '';
  return `${req.method} ${req.path.slice(0, 300)} as ${req.caller} ${JSON.stringify(req.headers).slice(0, 200)} body(${body.length}): ${JSON.stringify(body.slice(0, 300))}`;
}

/** The documented error body (spec/README.md §3, style rule 15), or a reason it is not. */
function errorBodyProblem(res: FuzzResponse): string | null {
  if (!String(res.headers['content-type']).startsWith('application/json')) {
    return `content-type ${String(res.headers['content-type'])}`;
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    return 'body is not JSON';
  }
  const error = body.error as Record<string, unknown> | undefined;
  if (typeof body.code !== 'string' || !/^[a-z_]+$/.test(body.code)) {
    return `code ${JSON.stringify(body.code)}`;
  }
  if (typeof body.message !== 'string' || body.message.length === 0) {
    return 'no message';
  }
  if (error?.code !== body.code || error?.message !== body.message) {
    return 'error envelope differs from code/message';
  }
  if (
    'statusCode' in body ||
    /QueryFailedError|node_modules|\n\s+at |SELECT |INSERT INTO/.test(res.text)
  ) {
    return 'leaks internals';
  }
  if (res.status === 422) {
    const detail = body.detail as { loc?: unknown; msg?: unknown; type?: unknown }[] | undefined;
    if (body.code !== 'validation_error' || !Array.isArray(detail) || detail.length === 0) {
      return '422 without a detail list';
    }
    for (const entry of detail) {
      const loc = entry.loc as unknown[];
      if (!Array.isArray(loc) || !['body', 'query', 'path'].includes(loc[0] as string)) {
        return `detail loc ${JSON.stringify(entry.loc)}`;
      }
      if (typeof entry.msg !== 'string' || typeof entry.type !== 'string') {
        return 'detail entry without msg/type';
      }
    }
    if (res.text.length > 64 * 1024) {
      return `422 body of ${res.text.length} characters`;
    }
  }
  return null;
}

function check(req: FuzzRequest, res: FuzzResponse): void {
  const problem = (what: string) =>
    new Error(
      `${what}\n  request: ${describeRequest(req)}\n  answer: ${res.status} ${res.text.slice(0, 500)}`,
    );
  if (!/^[0-9a-f]{32}$/.test(String(res.headers['x-request-id']))) {
    throw problem('no X-Request-Id');
  }
  if (res.status < 400) {
    return;
  }
  const shape = errorBodyProblem(res);
  if (shape) {
    throw problem(`error body: ${shape}`);
  }
  const body = JSON.parse(res.text) as Record<string, unknown>;
  if (res.status >= 500 && !documented5xx(req, res, body)) {
    throw problem(`answered ${res.status}`);
  }
}

/** `GET /v1/sessions/:session_id` → `GET /v1/sessions/{session_id}`, for every Express route. */
function expressRoutes(t: TestApp): string[] {
  const router = (t.app.getHttpAdapter().getInstance() as { router: { stack: unknown[] } }).router;
  const routes: string[] = [];
  for (const layer of router.stack as {
    route?: { path: string; methods: Record<string, boolean> };
  }[]) {
    if (!layer.route || typeof layer.route.path !== 'string' || isSwaggerPath(layer.route.path)) {
      continue;
    }
    // `:name` and `*name` are parameters (as in the OpenAPI document); `\:` is a literal colon.
    const path = layer.route.path.replace(/(?<!\\)[:*](\w+)/g, '{$1}').replace(/\\:/g, ':');
    for (const [method, on] of Object.entries(layer.route.methods)) {
      if (on && method !== '_all') {
        routes.push(`${method.toUpperCase()} ${path}`);
      }
    }
  }
  return routes;
}

describe(`fuzz: every route, hostile input (seed ${SEED})`, () => {
  let doc: OpenApiDocument;
  let targets: Target[];
  let fixture: Fixture;
  let ownId: string;
  let freshSession: () => Promise<string>;
  const auth = {} as Record<Caller, Record<string, string>>;

  // A DELETE of the caller's own session gets a session of its own, so later runs keep theirs.
  const prepare = async (req: FuzzRequest): Promise<FuzzRequest> => {
    const bare = ownId.slice(5);
    if (req.method !== 'DELETE' || !req.path.includes(bare)) {
      return req;
    }
    const id = await freshSession();
    return { ...req, path: req.path.split(ownId).join(id).split(bare).join(id.slice(5)) };
  };

  const t = useTestApp(
    'postgres',
    { ...JWT_ENV, OMNIGENT_BODY_LIMIT: String(BODY_LIMIT) },
    { listen: true, timeout: 60_000 },
  );
  beforeAll(async () => {
    const token = (sub: string) => mintToken(t.config.auth, { sub, ttlSeconds: 3600 }).token;
    auth.owner = { Authorization: `Bearer ${token(uniqueUser('fuzz'))}` };
    auth.other = { Authorization: `Bearer ${token(uniqueUser('fuzz-other'))}` };
    auth.anonymous = {};
    auth['bad-token'] = { Authorization: 'Bearer not.a.jwt' };

    const create = async (caller: Caller) => {
      const res = await t.http
        .post('/v1/sessions')
        .set(auth[caller])
        .send({
          agent_id: ECHO_ID,
          title: 'fuzz',
          initial_items: [
            {
              type: 'message',
              data: { role: 'user', content: [{ type: 'input_text', text: 'seed' }] },
            },
          ],
        })
        .expect(201);
      return res.body as { id: string; items: { id: string }[] };
    };
    const own = await create('owner');
    ownId = own.id;
    freshSession = async () => (await create('owner')).id;
    const theirs = await create('other');
    const sessionIds = [
      own.id,
      own.id.slice(5),
      theirs.id,
      `conv_${randomBytes(16).toString('hex')}`,
    ];
    fixture = {
      ids: {
        session_id: sessionIds,
        source_id: sessionIds,
        runner_id: [
          `runner_${randomBytes(16).toString('hex')}`,
          `runner_token_${randomBytes(16).toString('hex')}`,
        ],
      },
      words: [
        ECHO_ID,
        own.id,
        theirs.id,
        own.items[0].id,
        ...['message', 'function_call', 'function_call_output', 'compaction', 'interrupt'],
        ...['stop_session', 'retry_session', 'reasoning', 'user', 'assistant', 'system'],
        ...['input_text', 'output_text', 'on', 'off', 'echo', 'idle', 'running'],
      ],
      samples: {
        'POST /v1/sessions': [
          { agent_id: ECHO_ID },
          {
            agent_id: ECHO_ID,
            title: 'fuzz',
            labels: { team: 'a' },
            initial_items: [USER_MESSAGE, ASSISTANT_MESSAGE],
          },
        ],
        'PATCH /v1/sessions/{session_id}': [
          { title: 'renamed', labels: { team: 'b' } },
          { archived: false, model_override: 'gpt-x', external_session_id: `ext-${SEED}` },
          { terminal_launch_args: ['--flag'], cost_control_mode_override: 'on', runner_id: '' },
        ],
        'POST /v1/sessions/{session_id}/fork': [{}, { title: 'forked' }],
        'POST /v1/sessions/{session_id}/events': [
          ASSISTANT_MESSAGE,
          USER_MESSAGE,
          { type: 'interrupt', data: {} },
          { type: 'function_call_output', data: { call_id: 'call_1', output: 'done' } },
        ],
      },
      bundles: [
        await bundleOf([{ name: 'config.yaml', content: echoAgentConfig('fuzzed') }]),
        await bundleOf([
          { name: 'config.yaml', content: echoAgentConfig('fuzzed') },
          { name: 'n'.repeat(300), content: 'x' },
        ]),
        await bundleOf([{ name: '../escape', content: 'x' }]),
        await bundleOf([{ name: 'config.yaml', content: 'name: [unclosed\n' }]),
        gzipSync(Buffer.from('not a tar archive at all')),
        randomBytes(2048),
        Buffer.alloc(0),
      ],
    };

    doc = (await t.http.get('/openapi.json').expect(200)).body as OpenApiDocument;
    targets = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => ({ method, path, operation })),
    );
  }, 60_000);

  it('should know every route the app serves (a new route is fuzzed without editing this file)', () => {
    const documented = new Set(
      targets.map((target) => `${target.method.toUpperCase()} ${target.path}`),
    );
    const served = expressRoutes(t);
    expect(served.length).toBeGreaterThanOrEqual(15);
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
  });

  it('should cover the request DTOs and parameters it was written against', () => {
    const bodies = targets
      .flatMap((target) => Object.values(target.operation.requestBody?.content ?? {}))
      .map((content) => content.schema?.$ref);
    for (const dto of [
      'CreateSessionDto',
      'UpdateSessionDto',
      'ForkSessionDto',
      'SessionEventInputDto',
    ]) {
      expect(bodies).toContain(`#/components/schemas/${dto}`);
    }
    const params = targets.flatMap((target) => target.operation.parameters ?? []);
    expect(params.filter((p) => p.in === 'query').length).toBeGreaterThanOrEqual(30);
    expect(params.filter((p) => p.in === 'path').length).toBeGreaterThanOrEqual(10);
  });

  it('should never answer 5xx, and answer every 4xx with the documented error body', async () => {
    const seen = new Map<string, Map<string, number>>();
    for (const [index, target] of targets.entries()) {
      const seed = SEED + index;
      try {
        await fc.assert(
          fc.asyncProperty(requestsFor(target, fixture, doc), async (req) => {
            const res = await send(t.url, await prepare(req), auth[req.caller]);
            const counts = seen.get(req.route) ?? new Map<string, number>();
            seen.set(req.route, counts.set(statusKey(res), (counts.get(statusKey(res)) ?? 0) + 1));
            check(req, res);
          }),
          // Unbiased: fast-check's bias towards "small" values favours the first (harmless)
          // option of every oneof, and the generators list their edge cases explicitly anyway.
          { seed, numRuns: RUNS, unbiased: true },
        );
      } catch (error) {
        throw new Error(
          `fuzz failed on ${target.method.toUpperCase()} ${target.path}; replay with ` +
            `OMNIGENT_FUZZ_SEED=${SEED} (route seed ${seed})\n${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    if (STATS) {
      console.log(
        [...seen]
          .map(
            ([route, counts]) => `${route}: ${[...counts].map(([k, n]) => `${k}×${n}`).join(', ')}`,
          )
          .join('\n'),
      );
    }
  }, 240_000);
});
