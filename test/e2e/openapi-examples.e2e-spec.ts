import { useServerWithRunner } from 'test/utils/server-with-runner';

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  example?: unknown;
  schema?: { example?: unknown; $ref?: string };
}

interface MediaType {
  schema?: { $ref?: string; type?: string; format?: string; properties?: Record<string, Json> };
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
  security?: unknown[];
}

interface Document {
  paths: Record<string, Record<string, Operation>>;
  tags?: { name: string; description?: string }[];
  'x-websocket-routes'?: { path: string; subprotocol: string }[];
  components: { schemas: Record<string, MediaType['schema']> };
}

interface Op {
  method: string;
  path: string;
  op: Operation;
}

const ERROR_SCHEMAS = [
  '#/components/schemas/ErrorResponseDto',
  '#/components/schemas/ValidationErrorResponseDto',
];
// Writes first (they make what later reads find), then reads, then updates, then deletes.
const METHOD_ORDER = ['post', 'put', 'get', 'patch', 'delete'];

function operations(doc: Document): Op[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method, path, op })),
  );
}

const label = ({ method, path }: Op) => `${method.toUpperCase()} ${path}`;

/**
 * The /docs experience (issue #14 point 7), checked on the served document: every route shows
 * request and response examples and its error bodies, and every default example, sent as
 * "Try it out" would send it (path parameters filled from real fixtures), gets a documented,
 * non-5xx answer. Real server and runner processes on the embedded database: the examples add
 * a server-wide policy, which must not reach other test files' sessions.
 */
describe('OpenAPI examples', () => {
  let doc: Document;

  const stack = useServerWithRunner({ database: 'embedded', timeout: 90_000 });
  beforeAll(async () => {
    doc = await stack.api.ok<Document>('GET', '/openapi.json');
  }, 90_000);

  describe('the document', () => {
    it('should give every JSON request body a default example', () => {
      const missing = operations(doc)
        .filter(({ op }) => op.requestBody?.content['application/json'])
        .filter(({ op }) => !op.requestBody!.content['application/json'].examples?.default)
        .map(label);
      expect(missing).toEqual([]);
    });

    it('should give every JSON success response an example', () => {
      const missing = operations(doc).flatMap((o) =>
        Object.entries(o.op.responses)
          .filter(([status]) => status.startsWith('2'))
          .filter(([, r]) => r.content?.['application/json'])
          .filter(([, r]) => r.content!['application/json'].example === undefined)
          .map(([status]) => `${label(o)} ${status}`),
      );
      expect(missing).toEqual([]);
    });

    it('should document every error with the error body and an example', () => {
      const wrong = operations(doc).flatMap((o) =>
        Object.entries(o.op.responses)
          .filter(([status]) => Number(status) >= 400)
          .filter(([, r]) => {
            const json = r.content?.['application/json'];
            return !json || !ERROR_SCHEMAS.includes(json.schema?.$ref ?? '') || !json.example;
          })
          .map(([status]) => `${label(o)} ${status}`),
      );
      expect(wrong).toEqual([]);
    });

    it('should document 404 for every id in the path and 422 for every DTO body', () => {
      const missing = operations(doc).flatMap((o) => {
        const out: string[] = [];
        if (o.op.parameters?.some((p) => p.in === 'path') && !o.op.responses['404']) {
          out.push(`${label(o)} 404`);
        }
        if (o.op.requestBody?.content['application/json']?.schema?.$ref && !o.op.responses['422']) {
          out.push(`${label(o)} 422`);
        }
        if (o.op.security && !o.op.responses['401']) {
          out.push(`${label(o)} 401`);
        }
        return out;
      });
      expect(missing).toEqual([]);
    });

    it('should describe the WebSocket channels', () => {
      const routes = (doc['x-websocket-routes'] ?? []).map((r) => `${r.path} ${r.subprotocol}`);
      expect(routes).toEqual([
        '/v1/runners/{runner_id}/channel omnigent.runner.v1',
        '/v1/hosts/{host_id}/channel omnigent.host.v1',
      ]);
      const channels = doc.tags?.find((t) => t.name === 'channels')?.description ?? '';
      expect(channels).toContain('GET /v1/runners/{runner_id}/channel');
      expect(channels).toContain('GET /v1/hosts/{host_id}/channel');
    });
  });

  it('should answer every default example with a documented, non-5xx status', async () => {
    const session = await stack.api.createSession('echo');
    await stack.api.bind(session.id, stack.runner.runnerId);
    const form = new FormData();
    form.append('file', new Blob(['# Notes\n'], { type: 'text/markdown' }), 'notes.md');
    const uploaded = await fetch(`${stack.server.url}/v1/sessions/${session.id}/resources/files`, {
      method: 'POST',
      headers: { Origin: 'omnigent://internal' },
      body: form,
    });
    const file = (await uploaded.json()) as Json;
    const sessionPolicy = await stack.api.ok('POST', `/v1/sessions/${session.id}/policies`, {
      name: 'fixture_limit',
      type: 'python',
      handler: 'omnigent.policies.builtins.safety.max_tool_calls_per_session',
      factory_params: { limit: 1000 },
    });
    const response = await stack.api.ok('POST', '/v1/responses', { model: 'echo', input: 'Hi' });
    const defaultPolicy = await stack.api.ok('POST', '/v1/policies', {
      name: 'fixture_default_limit',
      type: 'python',
      handler: 'omnigent.policies.builtins.safety.max_tool_calls_per_session',
      factory_params: { limit: 1000 },
    });
    const pathValues = (path: string): Record<string, string> => ({
      session_id: session.id,
      file_id: String(file.id),
      policy_id: String(path.startsWith('/v1/policies') ? defaultPolicy.id : sessionPolicy.id),
      elicitation_id: 'elicit_0194f1c2e3a4b5c6d7e8f90123456789',
      runner_id: stack.runner.runnerId,
      response_id: String(response.id),
      // The echo agent declares no terminal: the terminal routes answer their documented 404.
      terminal_id: 'term_0194f1c2e3a4b5c6d7e8f90123456789',
      // No host daemon here: a host route answers its documented 404.
      host_id: 'host_0194f1c2e3a4b5c6d7e8f90123456789',
      env_id: 'default',
      resource_id: 'default',
      relative_path: 'notes.md',
      path: 'tmp',
    });

    const ordered = operations(doc).sort(
      (a, b) =>
        METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method) ||
        // The session itself is deleted last.
        b.path.length - a.path.length,
    );
    const results: string[] = [];
    const failures: string[] = [];
    for (const o of ordered) {
      const { status, note } = await send(stack.server.url, doc, o, pathValues(o.path));
      const line = `${label(o)} → ${status}${note ? ` ${note}` : ''}`;
      results.push(line);
      if (status >= 500 || !o.op.responses[String(status)]) {
        failures.push(line);
      }
    }
    expect(failures).toEqual([]);
    expect(results.length).toBe(operations(doc).length);
    // Every other example succeeds outright; these are refusals the setup makes certain.
    const refused = results.filter((r) => !/ → 2\d\d/.test(r)).map((r) => r.split(' → ')[0]);
    expect(refused.sort()).toEqual(
      [
        // No host daemon here.
        'GET /v1/hosts/{host_id}',
        'GET /v1/hosts/{host_id}/filesystem',
        'GET /v1/hosts/{host_id}/filesystem/{path}',
        'GET /v1/hosts/{host_id}/worktrees',
        'POST /v1/hosts/{host_id}/directories',
        'POST /v1/hosts/{host_id}/runners',
        // Auth mode none cannot mint tokens.
        'POST /v1/runners/{runner_id}/token',
        // The examples name an approval and an ancestor session that do not exist.
        'POST /v1/sessions/{session_id}/elicitations/{elicitation_id}/resolve',
        'POST /v1/sessions/{session_id}/resources/files:copy',
        // The echo agent declares no terminal, so none can be opened, read or closed.
        'POST /v1/sessions/{session_id}/resources/terminals',
        'GET /v1/sessions/{session_id}/resources/terminals/{terminal_id}',
        'DELETE /v1/sessions/{session_id}/resources/terminals/{terminal_id}',
        // The fixture response has ended: it has no tool call waiting for a result.
        'PATCH /v1/responses/{response_id}',
      ].sort(),
    );
  }, 120_000);
});

/** Sends an operation the way Swagger UI's "Try it out" does with its defaults. */
async function send(
  base: string,
  doc: Document,
  { method, path, op }: Op,
  values: Record<string, string>,
): Promise<{ status: number; note?: string }> {
  const url = new URL(
    path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? name)),
    base,
  );
  for (const p of op.parameters ?? []) {
    const example = p.example ?? p.schema?.example;
    if (p.in === 'query' && p.required && example !== undefined) {
      url.searchParams.set(p.name, String(example));
    }
  }
  const headers: Record<string, string> = { Origin: 'omnigent://internal' };
  let body: string | FormData | undefined;
  const content = op.requestBody?.content ?? {};
  if (content['application/json']) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(content['application/json'].examples?.default?.value ?? {});
  } else if (content['multipart/form-data']) {
    const form = new FormData();
    let schema = content['multipart/form-data'].schema;
    if (schema?.$ref) {
      schema = doc.components.schemas[schema.$ref.split('/').pop()!];
    }
    for (const [name, property] of Object.entries(schema?.properties ?? {})) {
      if (property.format === 'binary') {
        form.append(name, new Blob(['hello\n'], { type: 'text/plain' }), 'hello.txt');
      }
    }
    body = form;
  }
  const controller = new AbortController();
  const res = await fetch(url, {
    method: method.toUpperCase(),
    headers,
    body,
    signal: controller.signal,
  });
  const type = res.headers.get('content-type') ?? '';
  // A stream never ends by itself: its status and headers are the answer.
  if (type.startsWith('text/event-stream')) {
    controller.abort();
    return { status: res.status };
  }
  const text = await res.text();
  return { status: res.status, note: res.status >= 400 ? text.slice(0, 200) : undefined };
}
