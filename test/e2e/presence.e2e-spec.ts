import { mintToken } from 'src/common/auth/token-signer';
import { expectStreamEvent } from 'test/contract/upstream-schemas';
import { TestApp, useTestApp } from 'test/e2e/create-app';
import { JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { httpApi } from 'test/utils/http-api';
import { openSse, SseConnection, SseFrame } from 'test/utils/sse-client';

interface Viewer {
  user_id: string;
  joined_at: string;
  idle: boolean;
}

const GRACE_MS = 300;

const presence = (frames: SseFrame[]) =>
  frames.filter((f) => f.event === 'session.presence').map((f) => f.json?.viewers as Viewer[]);

const users = (viewers: Viewer[] | undefined) => (viewers ?? []).map((v) => v.user_id);

/** Resolves with the first `session.presence` whose viewer list is `expected` (user ids, in order). */
const viewersBecome = (stream: SseConnection, expected: string[]) =>
  stream.waitFor(
    (f) =>
      f.event === 'session.presence' &&
      JSON.stringify(users(f.json?.viewers as Viewer[])) === JSON.stringify(expected),
    10_000,
    `presence [${expected.join(', ')}]`,
  );

/**
 * Presence (api-reference §4.5): who holds a stream of a session tree, told to co-viewers on
 * join, on leave (after the grace window) and on idle flips, on one replica and across two.
 */
describe('session presence (jwt, two replicas on one PostgreSQL bus)', () => {
  const alice = uniqueUser('alice');
  const carol = uniqueUser('carol');
  const open: SseConnection[] = [];
  const env = {
    ...JWT_ENV,
    OMNIGENT_ADMINS: carol,
    OMNIGENT_PRESENCE_GRACE_MS: String(GRACE_MS),
  };

  const a = useTestApp('postgres', env, { listen: true });
  const b = useTestApp('postgres', env, { listen: true });
  afterEach(() => open.splice(0).forEach((s) => s.close()));

  const token = (userId: string) =>
    mintToken(a.config.auth, { sub: userId, ttlSeconds: 600 }).token;

  async function watch(on: TestApp, userId: string, sessionId: string, idle?: boolean) {
    const query = idle === undefined ? '' : `?idle=${idle}`;
    const stream = await openSse(on.url as string, `/v1/sessions/${sessionId}/stream${query}`, {
      Authorization: `Bearer ${token(userId)}`,
    });
    expect(stream.status).toBe(200);
    open.push(stream);
    return stream;
  }

  const newSession = async () => (await httpApi(a.url, token(alice)).createSession('echo')).id;

  it('should tell co-viewers of joins, idle flips and leaves, and send the list on connect', async () => {
    const id = await newSession();
    const first = await watch(a, alice, id);
    const mine = await viewersBecome(first, [alice]);
    expect(mine.json).toEqual({
      type: 'session.presence',
      sequence_number: null,
      conversation_id: id,
      viewers: [{ user_id: alice, joined_at: expect.any(String), idle: false }],
    });
    const aliceJoined = (mine.json?.viewers as Viewer[])[0].joined_at;
    expect(new Date(aliceJoined).toISOString()).toBe(aliceJoined);

    // Carol joins with a backgrounded tab: the list on her connect, the join for Alice.
    const second = await watch(a, carol, id, true);
    const snapshot = await viewersBecome(second, [alice, carol]);
    expect(eventOrder(second)).toEqual([
      'session.heartbeat',
      'session.changed_files.invalidated',
      'session.presence',
    ]);
    const joined = await viewersBecome(first, [alice, carol]);
    expect(joined.json?.viewers).toEqual(snapshot.json?.viewers);
    expect((joined.json?.viewers as Viewer[])[1]).toMatchObject({ user_id: carol, idle: true });

    // Her tab comes back: she reconnects with idle=false, keeping her joined_at.
    second.close();
    const third = await watch(a, carol, id, false);
    const flipped = await first.waitFor(
      (f) => f.event === 'session.presence' && (f.json?.viewers as Viewer[])[1]?.idle === false,
      10_000,
      'carol no longer idle',
    );
    expect((flipped.json?.viewers as Viewer[])[1].joined_at).toBe(
      (joined.json?.viewers as Viewer[])[1].joined_at,
    );

    // She leaves: Alice hears of it once the grace window is over.
    third.close();
    const closedAt = Date.now();
    await first.waitFor(() => presence(first.frames).length === 4, 10_000, 'the leave');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(presence(first.frames).map(users)).toEqual([
      [alice],
      [alice, carol],
      [alice, carol],
      [alice],
    ]);
    [...first.frames, ...third.frames].forEach((f) => f.json && expectStreamEvent(f.json));
  });

  it('should list viewers streaming from another replica', async () => {
    const id = await newSession();
    const onA = await watch(a, alice, id);
    await viewersBecome(onA, [alice]);

    const onB = await watch(b, carol, id);
    await viewersBecome(onA, [alice, carol]);
    await viewersBecome(onB, [alice, carol]);

    onB.close();
    await onA.waitFor(
      () => users(presence(onA.frames).at(-1)).join() === alice,
      10_000,
      'the leave',
    );
  });
});

/** The frames' types up to and including the first presence. */
function eventOrder(stream: SseConnection): string[] {
  const types = stream.frames.map((f) => f.event ?? f.data);
  return types.slice(0, types.indexOf('session.presence') + 1);
}
