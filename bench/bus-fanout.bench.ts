/**
 * Events per second across replicas through each bus: replica A publishes BENCH_MESSAGES stream
 * deltas (~200 bytes, the common event) on one session channel, replica B receives them; the
 * rate is taken from the first publish to the last delivery on B, with the p50/p99 of the
 * publish-to-delivery lag. Two bus instances in this process stand for two replicas (each has
 * its own connections, as a replica would).
 *
 *   npx tsc -p tsconfig.bench.json && node bench/run.js bus-fanout
 *   BENCH_DATABASE_URL=… BENCH_REDIS_URL=… BENCH_MESSAGES=50000 node bench/run.js bus-fanout
 */
import { Logger } from '@nestjs/common';

import { EventBus } from 'src/common/bus/event-bus';
import { PostgresBus } from 'src/common/bus/postgres.bus';
import { RedisBus } from 'src/common/bus/redis.bus';

const env = process.env;
const PG_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MESSAGES = Number(env.BENCH_MESSAGES ?? 20_000);

function delta(i: number, sentAt: number) {
  return {
    kind: 'event',
    seq: null,
    sentAt,
    event: {
      type: 'response.output_text.delta',
      session_id: 'conv_0123456789abcdef0123456789abcdef',
      item_id: 'msg_0123456789abcdef0123456789abcdef',
      output_index: 0,
      content_index: 0,
      delta: `token ${i} `.padEnd(64, '.'),
    },
  };
}

async function run(name: string, a: EventBus, b: EventBus): Promise<void> {
  const channel = `s:bench-${Date.now()}`;
  const lags: number[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  b.subscribe(channel, (m) => {
    lags.push(Date.now() - (m as { sentAt: number }).sentAt);
    if (lags.length === MESSAGES) {
      done();
    }
  });
  await b.subscribed();
  const started = Date.now();
  for (let i = 0; i < MESSAGES; i++) {
    a.publish(channel, delta(i, Date.now()));
  }
  await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 120_000))]);
  const seconds = (Date.now() - started) / 1000;
  lags.sort((x, y) => x - y);
  const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))];
  console.log(
    `${name}: ${lags.length}/${MESSAGES} delivered in ${seconds.toFixed(2)} s = ` +
      `${Math.round(lags.length / seconds)} events/s; lag p50 ${pct(50)} ms, p99 ${pct(99)} ms`,
  );
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error', 'warn']);
  const pg = [new PostgresBus({ url: PG_URL }), new PostgresBus({ url: PG_URL })];
  await Promise.all(pg.map((bus) => bus.start()));
  await run('PostgreSQL LISTEN/NOTIFY', pg[0], pg[1]);
  await Promise.all(pg.map((bus) => bus.close()));
  const redis = [new RedisBus({ url: REDIS_URL }), new RedisBus({ url: REDIS_URL })];
  await Promise.all(redis.map((bus) => bus.start()));
  await run('Redis pub/sub', redis[0], redis[1]);
  await Promise.all(redis.map((bus) => bus.close()));
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
