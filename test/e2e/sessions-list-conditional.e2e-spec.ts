import { createTestApp, TestApp } from 'test/e2e/create-app';
import { clientFor, E2eClient, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { expectSessionList, newSession } from 'test/utils/session-e2e';

/**
 * Conditional GETs of the session list keyed by version (issue 12): a page's ETag comes from
 * the rows it shows, 304 while none of them changed, 200 with a new ETag when one did.
 */
describe('conditional GET of the session list', () => {
  let t: TestApp;
  let c: E2eClient;

  beforeAll(async () => {
    t = await createTestApp('postgres', JWT_ENV);
    await t.listen();
    c = clientFor(t, uniqueUser('list-304'));
  });
  afterAll(() => t?.close());

  it('should answer 304 to the ETag of a page until a session on it changes', async () => {
    const one = (await newSession(c, { title: 'one' })).id as string;
    const first = await c.get('/v1/sessions?limit=50').expect(200);
    expectSessionList(first);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"v[\w-]{22}"$/);

    const same = await c.get('/v1/sessions?limit=50').set('If-None-Match', etag).expect(304);
    expect(same.headers.etag).toBe(etag);
    expect(same.text ?? '').toBe('');
    // The same body again without If-None-Match (the cached answer), with the same ETag.
    const again = await c.get('/v1/sessions?limit=50').expect(200);
    expect([again.text, again.headers.etag]).toEqual([first.text, etag]);

    await c.patch(`/v1/sessions/${one}`).send({ title: 'renamed' }).expect(200);
    const renamed = await c.get('/v1/sessions?limit=50').set('If-None-Match', etag).expect(200);
    expect(renamed.body.data[0].title).toBe('renamed');
    expect(renamed.headers.etag).not.toBe(etag);

    await newSession(c, { title: 'two' });
    const added = await c
      .get('/v1/sessions?limit=50')
      .set('If-None-Match', renamed.headers.etag)
      .expect(200);
    expect(added.body.data.map((s: { title: string }) => s.title)).toEqual(['two', 'renamed']);
    await c.get('/v1/sessions?limit=50').set('If-None-Match', added.headers.etag).expect(304);
    // Another page of the same list has an ETag of its own.
    const small = await c.get('/v1/sessions?limit=1').expect(200);
    expect(small.headers.etag).not.toBe(added.headers.etag);
  });

  it('should answer another user with their own page, whatever ETag they send', async () => {
    await newSession(c, { title: 'mine' });
    const mine = await c.get('/v1/sessions').expect(200);
    const other = clientFor(t, uniqueUser('list-304-other'));
    const theirs = await other
      .get('/v1/sessions')
      .set('If-None-Match', mine.headers.etag as string)
      .expect(200);
    expect(theirs.body.data).toEqual([]);
    expect(theirs.headers.etag).not.toBe(mine.headers.etag);
  });

  it('should keep the body-hash ETag of a search, with its 304', async () => {
    await newSession(c, { title: 'zebrafish' });
    const found = await c.get('/v1/sessions?search_query=zebrafish').expect(200);
    expect(found.headers.etag).toMatch(/^"b/);
    await c
      .get('/v1/sessions?search_query=zebrafish')
      .set('If-None-Match', found.headers.etag as string)
      .expect(304);
  });
});
