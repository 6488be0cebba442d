import { randomBytes } from 'node:crypto';

import { DataSource } from 'typeorm';

import { useTestApp } from 'test/e2e/create-app';
import { echoAgentBundle } from 'test/utils/agent-bundle';
import {
  agentIdByName,
  clientFor,
  E2eClient,
  expectErrorBody,
  JWT_ENV,
  uniqueUser,
} from 'test/utils/e2e-client';

const newKey = () => `key-${randomBytes(8).toString('hex')}`;

describe('Idempotency-Key', () => {
  let alice: E2eClient;
  let bob: E2eClient;
  let echo: string;

  const sessionCount = async (client: E2eClient) =>
    ((await client.get('/v1/sessions?limit=1000').expect(200)).body.data as unknown[]).length;

  const t = useTestApp('postgres', JWT_ENV);
  beforeAll(async () => {
    alice = clientFor(t, uniqueUser('alice'));
    bob = clientFor(t, uniqueUser('bob'));
    echo = await agentIdByName(alice, 'echo');
  });

  it('should replay the first answer to a repeated create instead of making a second session', async () => {
    const key = newKey();
    const first = await alice
      .post('/v1/sessions')
      .set('Idempotency-Key', key)
      .send({ agent_id: echo, title: 'once' })
      .expect(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await alice
      .post('/v1/sessions')
      .set('Idempotency-Key', key)
      .send({ agent_id: echo, title: 'once' })
      .expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await sessionCount(alice)).toBe(1);
  });

  it('should answer 409 when the same key comes with a different body', async () => {
    const key = newKey();
    await alice
      .post('/v1/sessions')
      .set('Idempotency-Key', key)
      .send({ agent_id: echo })
      .expect(201);
    const res = await alice
      .post('/v1/sessions')
      .set('Idempotency-Key', key)
      .send({ agent_id: echo, title: 'something else' });
    expectErrorBody(res, 409, 'conflict', /different request/);
  });

  it('should scope keys per user', async () => {
    const key = newKey();
    const a = await alice.post('/v1/sessions').set('Idempotency-Key', key).send({ agent_id: echo });
    const b = await bob.post('/v1/sessions').set('Idempotency-Key', key).send({ agent_id: echo });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(b.body.id).not.toBe(a.body.id);
  });

  it('should create without a key as before, and reject a malformed key with 400', async () => {
    const one = await alice.post('/v1/sessions').send({ agent_id: echo }).expect(201);
    const two = await alice.post('/v1/sessions').send({ agent_id: echo }).expect(201);
    expect(one.body.id).not.toBe(two.body.id);
    const bad = await alice
      .post('/v1/sessions')
      .set('Idempotency-Key', 'x'.repeat(256))
      .send({ agent_id: echo });
    expectErrorBody(bad, 400, 'invalid_input', /Idempotency-Key/);
  });

  it('should replay a multipart upload and refuse the key for another bundle', async () => {
    const key = newKey();
    const name = `idem-${randomBytes(4).toString('hex')}`;
    const bundle = await echoAgentBundle(name);
    const upload = (buffer: Buffer) =>
      alice
        .post('/v1/sessions')
        .set('Idempotency-Key', key)
        .field('metadata', '{}')
        .attach('bundle', buffer, 'agent.tar.gz');
    const first = await upload(bundle).expect(201);
    const again = await upload(bundle).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await upload(await echoAgentBundle(`${name}-2`));
    expectErrorBody(other, 409, 'conflict');
  });

  it('should free the key of a failed POST …/events so a retry runs again', async () => {
    const session = await alice.post('/v1/sessions').send({ agent_id: echo }).expect(201);
    const key = newKey();
    const post = () =>
      alice
        .post(`/v1/sessions/${session.body.id}/events`)
        .set('Idempotency-Key', key)
        .send({
          type: 'message',
          data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
        });
    // No runner is bound: the first attempt fails, and so does the retry (not a 409).
    expectErrorBody(await post(), 503, 'runner_unavailable');
    expectErrorBody(await post(), 503, 'runner_unavailable');
  });

  it('should store keys in PostgreSQL and forget them after 24 hours', async () => {
    const key = newKey();
    const first = await alice
      .post('/v1/sessions')
      .set('Idempotency-Key', key)
      .send({ agent_id: echo });
    const ds = t.app.get(DataSource);
    const [row] = (await ds.query(
      'SELECT status_code, response FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [alice.userId, key],
    )) as { status_code: number; response: { id: string } }[];
    expect(row).toMatchObject({ status_code: 201, response: { id: first.body.id } });
    await ds.query(
      `UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = $1 AND key = $2`,
      [alice.userId, key],
    );
    const later = await alice
      .post('/v1/sessions')
      .set('Idempotency-Key', key)
      .send({ agent_id: echo });
    expect(later.status).toBe(201);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(later.body.id).not.toBe(first.body.id);
  });
});
