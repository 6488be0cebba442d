import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

import { expectStreamEvent, expectValid } from 'test/contract/upstream-schemas';
import { useTestApp } from 'test/e2e/create-app';
import { clientFor, E2eClient, expectErrorBody, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { openSse } from 'test/utils/sse-client';

type Json = Record<string, unknown>;

// Small caps so the exact boundaries are cheap to hit.
const IMAGE_MAX = 2048;
const TEXT_MAX = 4096;
const PDF_MAX = 3000;

const ECHO = 'echo';

/** Session files over HTTP on PostgreSQL (spec/api-reference.md §8.2). */
describe('session files', () => {
  let user: E2eClient;
  let other: E2eClient;
  let filesDir: string;

  const t = useTestApp(
    'postgres',
    {
      ...JWT_ENV,
      OMNIGENT_FILES_IMAGE_MAX_BYTES: String(IMAGE_MAX),
      OMNIGENT_FILES_TEXT_MAX_BYTES: String(TEXT_MAX),
      OMNIGENT_FILES_PDF_MAX_BYTES: String(PDF_MAX),
      OMNIGENT_FILES_COPY_MAX_FILES: '3',
    },
    { listen: true },
  );
  beforeAll(async () => {
    user = clientFor(t, uniqueUser());
    other = clientFor(t, uniqueUser());
    filesDir = t.config.files.dir;
  });

  async function newSession(client = user, body: Json = {}): Promise<string> {
    const agents = await client.get('/v1/agents?limit=1000').expect(200);
    const agent = (agents.body.data as Json[]).find((a) => a.name === ECHO) as Json;
    const res = await client.post('/v1/sessions').send({ agent_id: agent.id, ...body });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  const files = (sid: string) => `/v1/sessions/${sid}/resources/files`;

  function upload(
    sid: string,
    content: Buffer | string,
    filename: string,
    contentType?: string,
    client = user,
  ) {
    return client
      .post(files(sid))
      .attach('file', Buffer.from(content), contentType ? { filename, contentType } : filename);
  }

  function blobsOf(sid: string): string[] {
    const dir = join(filesDir, sid);
    return existsSync(dir) ? readdirSync(dir) : [];
  }

  /** A hand-written multipart upload, for filename parameters supertest would rewrite. */
  function rawUpload(
    sid: string,
    dispositionName: string,
    contentType: string,
    body: string,
  ): Promise<{ status: number; body: Json }> {
    const boundary = 'omnigentboundary';
    const payload =
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; ${dispositionName}\r\n` +
      `Content-Type: ${contentType}\r\n\r\n${body}\r\n--${boundary}--\r\n`;
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${t.url}/v1/sessions/${sid}/resources/files`,
        {
          method: 'POST',
          headers: {
            ...user.headers,
            'Content-Type': `multipart/form-data; boundary=${boundary}`,
            'Content-Length': Buffer.byteLength(payload),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  describe('upload, get, content, list, delete', () => {
    it('should store an upload, serve it back and describe it like upstream', async () => {
      const sid = await newSession();
      const res = await upload(sid, 'hello, file', 'notes.txt', 'text/plain');
      expect(res.status).toBe(201);
      expectValid('SessionResourceObject', res.body);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^file_[0-9a-f]{32}$/),
        object: 'session.resource',
        type: 'file',
        session_id: sid,
        name: 'notes.txt',
        metadata: {
          filename: 'notes.txt',
          bytes: 11,
          created_at: expect.any(Number),
          content_type: 'text/plain',
        },
      });
      const id = res.body.id as string;

      const got = await user.get(`${files(sid)}/${id}`).expect(200);
      expect(got.body).toEqual(res.body);
      // Upstream's bare 32-hex id names the same file.
      await user.get(`${files(sid)}/${id.slice(5)}`).expect(200);

      const content = await user.get(`${files(sid)}/${id}/content`).buffer(true);
      expect(content.status).toBe(200);
      expect(content.text).toBe('hello, file');
      expect(content.headers).toMatchObject({
        'content-type': expect.stringMatching(/^text\/plain/),
        'content-disposition': `attachment; filename="notes.txt"; filename*=UTF-8''notes.txt`,
        'x-content-type-options': 'nosniff',
        etag: `"${id}"`,
        'cache-control': 'private, max-age=31536000, immutable',
      });

      const cached = await user.get(`${files(sid)}/${id}/content`).set('If-None-Match', `"${id}"`);
      expect(cached.status).toBe(304);
      expect(cached.headers.etag).toBe(`"${id}"`);
      const changed = await user.get(`${files(sid)}/${id}/content`).set('If-None-Match', '"x"');
      expect(changed.status).toBe(200);

      const deleted = await user.delete(`${files(sid)}/${id}`).expect(200);
      expect(deleted.body).toEqual({ id, object: 'session.resource.deleted', deleted: true });
      expectErrorBody(await user.get(`${files(sid)}/${id}`), 404, 'not_found', 'File not found');
      expectErrorBody(await user.delete(`${files(sid)}/${id}`), 404, 'not_found');
      expect(blobsOf(sid)).toEqual([]);
    });

    it('should page the list newest first with cursors', async () => {
      const sid = await newSession();
      const made: string[] = [];
      for (let i = 0; i < 5; i++) {
        made.push((await upload(sid, `f${i}`, `f${i}.txt`).expect(201)).body.id);
      }
      const first = await user.get(`${files(sid)}?limit=2`).expect(200);
      expectValid('SessionResourcePaginatedList', first.body);
      expect(first.body).toMatchObject({
        object: 'list',
        first_id: made[4],
        last_id: made[3],
        has_more: true,
      });
      for (const row of first.body.data as Json[]) {
        expect(typeof (row.metadata as Json).bytes).toBe('number');
        expect(typeof (row.metadata as Json).created_at).toBe('number');
      }
      const next = await user.get(`${files(sid)}?limit=2&after=${made[3]}`).expect(200);
      expect((next.body.data as Json[]).map((f) => f.id)).toEqual([made[2], made[1]]);
      const last = await user.get(`${files(sid)}?limit=2&after=${made[1]}`).expect(200);
      expect(last.body).toMatchObject({ data: [{ id: made[0] }], has_more: false });
      const asc = await user.get(`${files(sid)}?order=asc&limit=1000`).expect(200);
      expect((asc.body.data as Json[]).map((f) => f.id)).toEqual(made);
      const before = await user.get(`${files(sid)}?limit=2&before=${made[1]}`).expect(200);
      expect((before.body.data as Json[]).map((f) => f.id)).toEqual([made[3], made[2]]);
      expectErrorBody(await user.get(`${files(sid)}?limit=0`), 422, 'validation_error');
      expectErrorBody(await user.get(`${files(sid)}?limit=1001`), 422, 'validation_error');
    });

    it('should publish resource events and persist resource_event items', async () => {
      const sid = await newSession();
      const stream = await openSse(t.url, `/v1/sessions/${sid}/stream`, user.headers);
      await stream.waitFor((f) => f.event === 'session.heartbeat');
      const id = (await upload(sid, '{"a":1}', 'a.json').expect(201)).body.id as string;
      const created = await stream.waitFor((f) => f.event === 'session.resource.created');
      expectStreamEvent(created.json);
      expect(created.json).toMatchObject({ resource: { id, type: 'file', name: 'a.json' } });
      await user.delete(`${files(sid)}/${id}`).expect(200);
      const deleted = await stream.waitFor((f) => f.event === 'session.resource.deleted');
      expectStreamEvent(deleted.json);
      expect(deleted.json).toMatchObject({
        resource_id: id,
        resource_type: 'file',
        session_id: sid,
      });
      stream.close();

      const items = await user.get(`/v1/sessions/${sid}/items`).expect(200);
      const events = (items.body.data as Json[]).filter((i) => i.type === 'resource_event');
      expect(events).toMatchObject([
        { event_type: 'session.resource.created', resource_id: id, resource_type: 'file' },
        { event_type: 'session.resource.deleted', resource_id: id, resource_type: 'file' },
      ]);
      expectValid('ResourceEventData', {
        event_type: events[0].event_type,
        resource_id: events[0].resource_id,
        resource_type: events[0].resource_type,
        resource: events[0].resource,
      });
    });
  });

  describe('type and size rules', () => {
    let sid: string;
    beforeAll(async () => {
      sid = await newSession();
    });

    it('should take an image of exactly the cap and refuse one byte more with 413', async () => {
      await upload(sid, Buffer.alloc(IMAGE_MAX, 1), 'a.png', 'image/png').expect(201);
      const res = await upload(sid, Buffer.alloc(IMAGE_MAX + 1, 1), 'b.png', 'image/png');
      expectErrorBody(res, 413, 'payload_too_large', /'b\.png' is larger than/);
    });

    it('should apply the text cap to text and code, the PDF cap to PDFs', async () => {
      await upload(sid, 'x'.repeat(TEXT_MAX), 'a.py', 'application/octet-stream').expect(201);
      expectErrorBody(
        await upload(sid, 'x'.repeat(TEXT_MAX + 1), 'b.py', 'text/x-python'),
        413,
        'payload_too_large',
      );
      await upload(sid, Buffer.alloc(PDF_MAX), 'a.pdf', 'application/pdf').expect(201);
      expectErrorBody(
        await upload(sid, Buffer.alloc(PDF_MAX + 1), 'b.pdf', 'application/pdf'),
        413,
        'payload_too_large',
      );
    });

    it('should refuse other types with 415 and name them', async () => {
      const res = await upload(sid, 'PK', 'a.zip', 'application/zip');
      expectErrorBody(res, 415, 'unsupported_media_type', /'application\/zip' for 'a\.zip'/);
      const exe = await upload(sid, 'MZ', 'a.png', 'application/x-msdownload');
      expectErrorBody(exe, 415, 'unsupported_media_type');
    });

    it('should leave nothing of refused uploads behind', async () => {
      const names = blobsOf(sid);
      expect(names.filter((n) => n.endsWith('.part'))).toEqual([]);
      const listed = await user.get(`${files(sid)}?limit=1000`).expect(200);
      expect(names.sort()).toEqual((listed.body.data as Json[]).map((f) => f.id).sort());
    });

    it('should answer a missing part with 422, another part with 400, JSON with 415', async () => {
      const none = await user.post(files(sid)).field('x', 'y');
      expectErrorBody(none, 422, 'validation_error');
      expect(none.body.detail).toEqual([
        expect.objectContaining({ loc: ['body', 'file'], type: 'missing' }),
      ]);
      const wrong = await user.post(files(sid)).attach('upload', Buffer.from('x'), 'a.txt');
      expectErrorBody(
        wrong,
        400,
        'invalid_input',
        "Unexpected file part 'upload'; send the file as 'file'",
      );
      const json = await user.post(files(sid)).send({ file: 'x' });
      expectErrorBody(json, 415, 'unsupported_media_type');
    });

    it('should answer an empty filename with 400', async () => {
      const res = await rawUpload(sid, 'filename=""', 'text/plain', 'x');
      expectErrorBody(res as never, 400, 'invalid_input', 'filename is required');
    });

    it('should keep only the basename of traversal names, encoded ones too', async () => {
      const plain = await rawUpload(sid, 'filename="../../escape.txt"', 'text/plain', 'a');
      expect(plain.status).toBe(201);
      expect(plain.body.name).toBe('escape.txt');
      const encoded = await rawUpload(
        sid,
        "filename*=UTF-8''..%2F..%2F..%2Fescape2.txt",
        'text/plain',
        'b',
      );
      expect(encoded.status).toBe(201);
      expect(encoded.body.name).toBe('escape2.txt');
      const backslash = await rawUpload(sid, 'filename="..\\\\..\\\\win.txt"', 'text/plain', 'c');
      expect(backslash.body.name).toBe('win.txt');
      // Nothing landed outside the session's folder of the store.
      expect(readdirSync(filesDir).every((name) => name.startsWith('conv_'))).toBe(true);
      expect(existsSync(join(filesDir, '..', 'escape.txt'))).toBe(false);
    });

    it('should answer traversal in the file id path with 404', async () => {
      for (const path of ['..%2F..%2Fetc%2Fpasswd', '..', '%2e%2e', 'file_../x']) {
        expectErrorBody(await user.get(`${files(sid)}/${path}/content`), 404, 'not_found');
      }
    });
  });

  describe('ownership', () => {
    it("should answer another user's session and another session's file with 404", async () => {
      const mine = await newSession();
      const mine2 = await newSession();
      const id = (await upload(mine, 'secret', 's.txt').expect(201)).body.id as string;
      expectErrorBody(await other.get(`${files(mine)}/${id}`), 404, 'not_found');
      expectErrorBody(await other.get(`${files(mine)}/${id}/content`), 404, 'not_found');
      expectErrorBody(await other.delete(`${files(mine)}/${id}`), 404, 'not_found');
      expectErrorBody(await other.get(files(mine)), 404, 'not_found');
      expectErrorBody(await upload(mine, 'x', 'x.txt', 'text/plain', other), 404, 'not_found');
      // The id of a file of one session names nothing in another, even the same owner's.
      expectErrorBody(await user.get(`${files(mine2)}/${id}`), 404, 'not_found', 'File not found');
      expectErrorBody(await user.get(`${files(mine2)}/${id}/content`), 404, 'not_found');
      expect(blobsOf(mine)).toHaveLength(1);
    });

    it("should delete a session's files and blobs with the session", async () => {
      const sid = await newSession();
      await upload(sid, 'a', 'a.txt').expect(201);
      await upload(sid, 'b', 'b.txt').expect(201);
      expect(blobsOf(sid)).toHaveLength(2);
      await user.delete(`/v1/sessions/${sid}`).expect(200);
      expect(existsSync(join(filesDir, sid))).toBe(false);
    });
  });

  describe('files:copy', () => {
    it('should copy files from an ancestor, all or nothing', async () => {
      const parent = await newSession();
      const child = await newSession(user, { parent_session_id: parent });
      const grandchild = await newSession(user, { parent_session_id: child });
      const a = (await upload(parent, 'aaa', 'a.txt').expect(201)).body.id as string;
      const b = (await upload(parent, 'bb', 'b.md', 'text/markdown').expect(201)).body.id as string;
      const copy = (dest: string, body: Json, client = user) =>
        client.post(`/v1/sessions/${dest}/resources/files:copy`).send(body);

      const res = await copy(grandchild, { source_session_id: parent, file_ids: [a, b] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        object: 'session.files.copied',
        session_id: grandchild,
        mapping: {
          [a]: {
            new_id: expect.stringMatching(/^file_/),
            filename: 'a.txt',
            content_type: 'text/plain',
          },
          [b]: {
            new_id: expect.stringMatching(/^file_/),
            filename: 'b.md',
            content_type: 'text/markdown',
          },
        },
      });
      const newA = res.body.mapping[a].new_id as string;
      const content = await user.get(`${files(grandchild)}/${newA}/content`).buffer(true);
      expect(content.text).toBe('aaa');

      // Not an ancestor: itself, a descendant, an unrelated session.
      expectErrorBody(
        await copy(parent, { source_session_id: child, file_ids: [a] }),
        403,
        'forbidden',
      );
      expectErrorBody(
        await copy(child, { source_session_id: child, file_ids: [a] }),
        403,
        'forbidden',
      );
      // One missing file: nothing is copied.
      const before = blobsOf(child).length;
      expectErrorBody(
        await copy(child, { source_session_id: parent, file_ids: [a, 'file_' + '0'.repeat(32)] }),
        404,
        'not_found',
      );
      expect(blobsOf(child)).toHaveLength(before);
      expectErrorBody(
        await copy(child, { source_session_id: parent, file_ids: [a, a] }),
        400,
        'invalid_input',
      );
      expectErrorBody(
        await copy(child, { source_session_id: parent, file_ids: [a, b, a.slice(5), b.slice(5)] }),
        400,
        'invalid_input',
        /At most 3 files/,
      );
      expectErrorBody(
        await copy(child, { source_session_id: parent, file_ids: [] }),
        422,
        'validation_error',
      );
      expectErrorBody(
        await copy(child, { source_session_id: parent, file_ids: [a] }, other),
        404,
        'not_found',
      );
    });
  });
});
