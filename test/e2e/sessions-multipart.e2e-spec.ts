import http from 'node:http';

import { useTestApp } from 'test/e2e/create-app';
import { clientFor, E2eClient, expectErrorBody, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { echoAgentBundle } from 'test/utils/agent-bundle';

const BUNDLE_LIMIT = 4096;

/**
 * The limits and failures of the multipart form of `POST /v1/sessions`, read by Nest's
 * FileInterceptor: each answers with the status it always had (413 for anything over a limit,
 * 400 for an unexpected file or an unreadable body).
 */
describe('POST /v1/sessions multipart limits', () => {
  let user: E2eClient;
  let bundle: Buffer;

  const t = useTestApp(
    'postgres',
    {
      ...JWT_ENV,
      OMNIGENT_BUNDLE_MAX_BYTES: String(BUNDLE_LIMIT),
    },
    { listen: true },
  );
  beforeAll(async () => {
    user = clientFor(t, uniqueUser());
    bundle = await echoAgentBundle(`mp-${uniqueUser().slice(-8)}`);
  });

  const post = () => user.post('/v1/sessions');

  it('should create a session from a bundle within the limits', async () => {
    const res = await post().field('metadata', '{}').attach('bundle', bundle, 'agent.tar.gz');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ session_id: expect.stringMatching(/^conv_/) });
  });

  it('should answer a bundle over the limit with 413', async () => {
    const big = Buffer.concat([bundle, Buffer.alloc(BUNDLE_LIMIT)]);
    const res = await post().field('metadata', '{}').attach('bundle', big, 'agent.tar.gz');
    expectErrorBody(res, 413, 'payload_too_large', 'The agent bundle is too large');
  });

  it('should answer a file under another name with 400', async () => {
    const res = await post().field('metadata', '{}').attach('agent', bundle, 'agent.tar.gz');
    expectErrorBody(
      res,
      400,
      'invalid_input',
      "Unexpected file part 'agent'; send the bundle as 'bundle'",
    );
  });

  it('should answer more parts or fields than a create has with 413', async () => {
    let many = post();
    for (let i = 0; i < 5; i++) {
      many = many.field(`f${i}`, 'x');
    }
    expectErrorBody(await many, 413, 'payload_too_large', /^Multipart body exceeds a limit/);
    const huge = await post()
      .field('metadata', JSON.stringify({ title: 'x'.repeat(300 * 1024) }))
      .attach('bundle', bundle, 'agent.tar.gz');
    expectErrorBody(huge, 413, 'payload_too_large', /^Multipart body exceeds a limit/);
  });

  it('should answer an unreadable multipart body with 400', async () => {
    const res = await new Promise<{ status: number; body: Record<string, unknown> }>(
      (resolve, reject) => {
        const req = http.request(
          `${t.url}/v1/sessions`,
          {
            method: 'POST',
            headers: {
              ...user.headers,
              'Content-Type': 'multipart/form-data; boundary=xyz',
            },
          },
          (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString()));
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }),
            );
          },
        );
        req.on('error', reject);
        // A part that never ends: the form stops before its closing boundary.
        req.end('--xyz\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{}');
      },
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^Malformed multipart body: /),
    });
  });

  it('should leave a JSON create to the JSON rules (415 for other types)', async () => {
    const res = await post().set('Content-Type', 'multipart/mixed; boundary=xyz').send('--xyz--');
    expectErrorBody(res, 415, 'unsupported_media_type');
  });
});
