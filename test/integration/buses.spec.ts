import { randomBytes } from 'node:crypto';

import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Client } from 'pg';

import { EventBus } from 'src/common/bus/event-bus';
import { PostgresBus } from 'src/common/bus/postgres.bus';
import { RedisBus } from 'src/common/bus/redis.bus';

const REDIS_URL = process.env.OMNIGENT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function pgUrl(): string {
  const url = process.env.OMNIGENT_TEST_INTEGRATION_DATABASE_URL;
  if (!url) {
    throw new Error('OMNIGENT_TEST_INTEGRATION_DATABASE_URL is not set: run through jest');
  }
  return url;
}

/** Polls until `check` holds (or fails the test after `limitMs`: a liveness bound, not a speed one). */
async function eventually(check: () => boolean | Promise<boolean>, limitMs = 15_000) {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error('condition not reached');
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Collects what a channel receives. */
function collect(bus: EventBus, channel: string): { got: unknown[]; off: () => void } {
  const got: unknown[] = [];
  const off = bus.subscribe(channel, (message) => got.push(message));
  return { got, off };
}

const key = (prefix: string) => `${prefix}:${randomBytes(6).toString('hex')}`;

interface BusFixture {
  /** A started bus: a "replica". */
  newBus(name: string): Promise<EventBus>;
  /** Cuts the named bus's connection(s) from the server side. */
  kill(name: string): Promise<void>;
  closeAll(): Promise<void>;
}

function postgresFixture(): BusFixture {
  const buses: PostgresBus[] = [];
  const tag = randomBytes(4).toString('hex');
  return {
    async newBus(name) {
      const bus = new PostgresBus({
        url: pgUrl(),
        applicationName: `bus-test-${tag}-${name}`,
        reconnectMs: 50,
      });
      await bus.start();
      buses.push(bus);
      return bus;
    },
    async kill(name) {
      const admin = new Client({ connectionString: pgUrl() });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ killed: boolean }>(
          'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
          [`bus-test-${tag}-${name}`],
        );
        expect(rows).toEqual([{ killed: true }]);
      } finally {
        await admin.end();
      }
    },
    async closeAll() {
      await Promise.all(buses.map((bus) => bus.close()));
    },
  };
}

function redisFixture(): BusFixture {
  const buses: RedisBus[] = [];
  const tag = randomBytes(4).toString('hex');
  return {
    async newBus(name) {
      const bus = new RedisBus({ url: REDIS_URL, name: `bus-test-${tag}-${name}` });
      await bus.start();
      buses.push(bus);
      return bus;
    },
    async kill(name) {
      const admin = new Redis(REDIS_URL);
      try {
        const list = (await admin.client('LIST')) as string;
        const ids = list
          .split('\n')
          .filter((line) => line.includes(` name=bus-test-${tag}-${name}-`))
          .map((line) => /id=(\d+)/.exec(line)?.[1] as string);
        expect(ids).toHaveLength(2);
        for (const id of ids) {
          await admin.client('KILL', 'ID', id);
        }
      } finally {
        admin.disconnect();
      }
    },
    async closeAll() {
      await Promise.all(buses.map((bus) => bus.close()));
    },
  };
}

describe.each([
  ['PostgresBus', postgresFixture],
  ['RedisBus', redisFixture],
] as const)('%s', (_name, makeFixture) => {
  let fixture: BusFixture;

  beforeAll(() => {
    Logger.overrideLogger(['error']);
  });

  beforeEach(() => {
    fixture = makeFixture();
  });

  afterEach(async () => {
    await fixture.closeAll();
  });

  it('should deliver across replicas, in publish order, only to subscribers of the key', async () => {
    const a = await fixture.newBus('a');
    const b = await fixture.newBus('b');
    const channel = key('s');
    const other = key('s');
    const onB = collect(b, channel);
    const onA = collect(a, channel);
    const onOther = collect(b, other);
    await Promise.all([a.subscribed(), b.subscribed()]);
    // Quotes, backslashes, escapes and non-ASCII survive the batch statement's JSON parameter.
    const sent = Array.from({ length: 50 }, (_, i) => ({
      i,
      text: `delta ${i} "q" \\ \n é ✓ \ud800 \u0000`,
    }));
    for (const message of sent) {
      a.publish(channel, message);
    }
    // The publisher's own subscribers get it at publish, without the round trip.
    expect(onA.got).toEqual(sent);
    await eventually(() => onB.got.length === sent.length);
    expect(onB.got).toEqual(sent);
    // …and never a second time: b's marker reaches a after a's own copies came back.
    const marker = key('s');
    const onMarker = collect(a, marker);
    await a.subscribed();
    b.publish(marker, 'marker');
    await eventually(() => onMarker.got.length === 1);
    expect(onA.got).toEqual(sent);
    expect(onOther.got).toEqual([]);
  });

  it('should deliver what a handler publishes after what it is handling, to every handler', async () => {
    const a = await fixture.newBus('a');
    const b = await fixture.newBus('b');
    const channel = key('s');
    const onB = collect(b, channel);
    await b.subscribed();
    // The first handler publishes while the message is being delivered: the second handler
    // must still see them in publish order, as b does.
    const first: unknown[] = [];
    a.subscribe(channel, (message) => {
      first.push(message);
      if (message === 1) {
        a.publish(channel, 2);
      }
    });
    const second = collect(a, channel);
    a.publish(channel, 1);
    expect(first).toEqual([1, 2]);
    expect(second.got).toEqual([1, 2]);
    await eventually(() => onB.got.length === 2);
    expect(onB.got).toEqual([1, 2]);
  });

  it('should stop delivering after unsubscribe', async () => {
    const a = await fixture.newBus('a');
    const b = await fixture.newBus('b');
    const channel = key('r');
    const first = collect(b, channel);
    const second = collect(b, channel);
    await b.subscribed();
    a.publish(channel, 1);
    await eventually(() => first.got.length === 1 && second.got.length === 1);
    first.off();
    a.publish(channel, 2);
    await eventually(() => second.got.length === 2);
    second.off();
    const markerKey = key('rep');
    const marker = collect(b, markerKey);
    await b.subscribed();
    a.publish(channel, 3);
    // Published after 3 by the same replica: once the marker arrived, 3 would have too.
    a.publish(markerKey, 'marker');
    await eventually(() => marker.got.length === 1);
    expect(first.got).toEqual([1]);
    expect(second.got).toEqual([1, 2]);
  });

  it('should carry messages bigger than a NOTIFY payload intact and in order', async () => {
    const a = await fixture.newBus('a');
    const b = await fixture.newBus('b');
    const channel = key('s');
    const onB = collect(b, channel);
    await b.subscribed();
    const big = {
      text: 'x'.repeat(20_000),
      nested: { list: Array.from({ length: 100 }, (_, i) => i) },
    };
    a.publish(channel, { n: 1 });
    a.publish(channel, big);
    a.publish(channel, { n: 3 });
    await eventually(() => onB.got.length === 3);
    expect(onB.got).toEqual([{ n: 1 }, big, { n: 3 }]);
  });

  it('should reconnect and resubscribe after the server drops its connection', async () => {
    const a = await fixture.newBus('a');
    const b = await fixture.newBus('b');
    const channel = key('s');
    const onB = collect(b, channel);
    await b.subscribed();
    a.publish(channel, 'before');
    await eventually(() => onB.got.length === 1);
    await fixture.kill('b');
    // Delivery is at most once: messages sent while b was away may be lost, so keep publishing
    // until one arrives, which proves b is listening again.
    let n = 0;
    await eventually(() => {
      a.publish(channel, `after ${n++}`);
      return onB.got.length > 1;
    });
    expect(onB.got[0]).toBe('before');
    expect(String(onB.got[onB.got.length - 1])).toMatch(/^after \d+$/);
  });

  it('should keep what a replica publishes while its own connection is down', async () => {
    const a = await fixture.newBus('a');
    const b = await fixture.newBus('b');
    const channel = key('s');
    const onB = collect(b, channel);
    await b.subscribed();
    await fixture.kill('a');
    for (let i = 0; i < 5; i++) {
      a.publish(channel, i);
    }
    await eventually(() => onB.got.length === 5);
    expect(onB.got).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('PostgresBus overflow table', () => {
  it('should store big payloads in bus_overflow and read them by id', async () => {
    Logger.overrideLogger(['error']);
    const bus = new PostgresBus({ url: pgUrl(), notifyMaxBytes: 100 });
    const other = new PostgresBus({ url: pgUrl(), notifyMaxBytes: 100 });
    const admin = new Client({ connectionString: pgUrl() });
    await Promise.all([bus.start(), other.start(), admin.connect()]);
    try {
      const channel = key('s');
      const got = collect(other, channel).got;
      const message = { marker: key('m'), text: 'y'.repeat(200) };
      bus.publish(channel, message);
      await eventually(() => got.length === 1);
      expect(got).toEqual([message]);
      const { rows } = await admin.query(
        `SELECT payload FROM bus_overflow WHERE payload->>'marker' = $1`,
        [message.marker],
      );
      expect(rows).toEqual([{ payload: message }]);
    } finally {
      await Promise.all([bus.close(), other.close(), admin.end()]);
    }
  });
});

describe('PostgresBus statements', () => {
  it('should send what is published in one turn of the event loop as one statement', async () => {
    Logger.overrideLogger(['error']);
    const bus = new PostgresBus({ url: pgUrl() });
    const other = new PostgresBus({ url: pgUrl() });
    await Promise.all([bus.start(), other.start()]);
    const query = jest.spyOn(Client.prototype, 'query');
    try {
      const channel = key('s');
      const got = collect(other, channel).got;
      // A unit of work's events, then (a few awaits later, same turn) the deltas relayed after it.
      bus.publish(channel, 1);
      bus.publish(channel, 2);
      await Promise.resolve();
      bus.publish(channel, 3);
      await eventually(() => got.length === 3);
      expect(got).toEqual([1, 2, 3]);
      const notifies = query.mock.calls.filter(([config]) =>
        String((config as { text?: string }).text ?? config).includes('pg_notify'),
      );
      expect(notifies).toHaveLength(1);
      // Prepared once per connection, by name: PostgreSQL does not parse it again.
      expect(notifies[0][0]).toMatchObject({ name: 'omnigent_bus_notify_many' });
      bus.publish(channel, 4);
      await eventually(() => got.length === 4);
      bus.publish(channel, 5);
      await eventually(() => got.length === 5);
      expect(got).toEqual([1, 2, 3, 4, 5]);
      const prepared = (await (bus as unknown as { client: Client }).client.query(
        `SELECT name, statement FROM pg_prepared_statements ORDER BY name`,
      )) as { rows: { name: string; statement: string }[] };
      expect(prepared.rows.map((row) => row.name)).toEqual([
        'omnigent_bus_notify',
        'omnigent_bus_notify_many',
      ]);
    } finally {
      query.mockRestore();
      await Promise.all([bus.close(), other.close()]);
    }
  });

  it("should send the NOTIFY after what this replica's handlers scheduled for the same turn", async () => {
    Logger.overrideLogger(['error']);
    const bus = new PostgresBus({ url: pgUrl() });
    await bus.start();
    const order: string[] = [];
    const original = Client.prototype.query;
    const query = jest.spyOn(Client.prototype, 'query').mockImplementation(function (
      this: Client,
      ...args: unknown[]
    ) {
      const config = args[0] as { text?: string } | string;
      if (String(typeof config === 'string' ? config : config.text).includes('pg_notify')) {
        order.push('notify');
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as never);
    try {
      const channel = key('s');
      // A stream's writer: its frames leave at the end of the turn (setImmediate), as SseWriter's.
      bus.subscribe(channel, () => setImmediate(() => order.push('frames written')));
      bus.publish(channel, 1);
      await eventually(() => order.length === 2);
      // A write to PostgreSQL can hand this core to the backend it wakes: the frames go first.
      expect(order).toEqual(['frames written', 'notify']);
    } finally {
      query.mockRestore();
      await bus.close();
    }
  });
});
