import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

import { useTestApp } from 'test/e2e/create-app';
import { clientFor, E2eClient, expectErrorBody, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';

type Json = Record<string, unknown>;

const BUCKET = 'omnigent-e2e';
const TEXT_MAX = 4096;

/**
 * Session files on the S3 backend (OMNIGENT_FILES_STORAGE=s3) through the HTTP API, against a
 * local S3-compatible server (s3rver): the same routes and rules as on the local disk.
 */
describe('session files on S3-compatible storage', () => {
  let dir: string;
  let s3rver: S3rver;
  let s3: S3Client;
  let endpoint: string;
  let user: E2eClient;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omnigent-s3rver-'));
    s3rver = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: dir,
      configureBuckets: [{ name: BUCKET, configs: [] }],
    });
    const { port } = await s3rver.run();
    endpoint = `http://127.0.0.1:${port}`;
    // The SDK's credential chain reads the process environment.
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
  });
  const t = useTestApp(
    'postgres',
    () => ({
      ...JWT_ENV,
      OMNIGENT_FILES_STORAGE: 's3',
      OMNIGENT_FILES_S3_BUCKET: BUCKET,
      OMNIGENT_FILES_S3_PREFIX: 'blobs/',
      OMNIGENT_FILES_S3_ENDPOINT: endpoint,
      OMNIGENT_FILES_S3_FORCE_PATH_STYLE: 'true',
      OMNIGENT_FILES_TEXT_MAX_BYTES: String(TEXT_MAX),
    }),
    { listen: true },
  );
  beforeAll(() => {
    user = clientFor(t, uniqueUser());
  });

  afterAll(async () => {
    s3?.destroy();
    await s3rver?.close();
    rmSync(dir, { recursive: true, force: true });
    process.env = savedEnv;
  });

  async function objects(sid: string): Promise<string[]> {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `blobs/${sid}/` }),
    );
    return (listed.Contents ?? []).map((o) => o.Key as string);
  }

  async function newSession(body: Json = {}): Promise<string> {
    const agents = await user.get('/v1/agents?limit=1000').expect(200);
    const agent = (agents.body.data as Json[]).find((a) => a.name === 'echo') as Json;
    const res = await user.post('/v1/sessions').send({ agent_id: agent.id, ...body });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  const files = (sid: string) => `/v1/sessions/${sid}/resources/files`;
  const upload = (sid: string, content: string, filename: string) =>
    user
      .post(files(sid))
      .attach('file', Buffer.from(content), { filename, contentType: 'text/plain' });

  it('should store uploads as objects, serve them back and delete them', async () => {
    const sid = await newSession();
    const created = await upload(sid, 'hello from s3', 'notes.txt').expect(201);
    const id = created.body.id as string;
    expect(await objects(sid)).toEqual([`blobs/${sid}/${id}`]);
    const content = await user.get(`${files(sid)}/${id}/content`).expect(200);
    expect(content.text).toBe('hello from s3');
    expect(content.headers.etag).toBe(`"${id}"`);

    // files:copy into a child session copies the object.
    const child = await newSession({ parent_session_id: sid });
    const copied = await user
      .post(`${files(child)}:copy`)
      .send({ source_session_id: sid, file_ids: [id] })
      .expect(200);
    const newId = (copied.body.mapping as Record<string, Json>)[id].new_id as string;
    expect(await objects(child)).toEqual([`blobs/${child}/${newId}`]);
    expect((await user.get(`${files(child)}/${newId}/content`).expect(200)).text).toBe(
      'hello from s3',
    );

    await user.delete(`${files(sid)}/${id}`).expect(200);
    expect(await objects(sid)).toEqual([]);
    await user.delete(`/v1/sessions/${child}`).expect(200);
    expect(await objects(child)).toEqual([]);
  });

  it('should refuse one byte over the cap and leave no object behind', async () => {
    const sid = await newSession();
    await upload(sid, 'x'.repeat(TEXT_MAX), 'exact.txt').expect(201);
    expectErrorBody(
      await upload(sid, 'x'.repeat(TEXT_MAX + 1), 'over.txt'),
      413,
      'payload_too_large',
    );
    expect(await objects(sid)).toHaveLength(1);
  });
});
