import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Client, DatabaseError, Notification } from 'pg';

import { BusHandlers } from 'src/common/bus/bus-handlers';
import { EventBus } from 'src/common/bus/event-bus';
import type { MetricsService } from 'src/modules/metrics/metrics.service';

/** NOTIFY payloads must stay under 8000 bytes; bigger messages travel through `bus_overflow`. */
export const NOTIFY_MAX_BYTES = 7000;
/** Fixed NOTIFY channels by key prefix (spec/runner-protocol.md §9); anything else: `omni_x`. */
const PG_CHANNELS: Record<string, string> = {
  h: 'omni_h',
  r: 'omni_r',
  rep: 'omni_rep',
  s: 'omni_s',
};
const ALL_PG_CHANNELS = [...Object.values(PG_CHANNELS), 'omni_x'];
/** Publishes kept while the connection is down; past it the oldest are dropped. */
const BACKLOG_MAX = 10_000;
const OVERFLOW_TTL = '5 minutes';
/** Notifications sent in one statement at most. */
const BATCH_MAX = 500;

/** `{k: key, m: message, t}` or, for an overflowed message, `{k, ref: <bus_overflow id>, t}`. */
interface Notice {
  k: string;
  m?: unknown;
  ref?: string;
  t: number;
  n?: number;
}

/** One NOTIFY (channel, payload), or any other statement. */
type Outgoing =
  { notify: [string, string]; sql?: never } | { notify?: never; sql: string; params: unknown[] };

export interface PostgresBusOptions {
  url: string;
  metrics?: MetricsService;
  /** `application_name` of the bus connection (tests tell their buses apart by it). */
  applicationName?: string;
  /** Payloads above this many bytes go through the overflow table (tests lower it). */
  notifyMaxBytes?: number;
  reconnectMs?: number;
  /** How often stale overflow rows are deleted. */
  cleanupMs?: number;
}

/**
 * PostgreSQL LISTEN/NOTIFY bus (spec/runner-protocol.md §9). One dedicated connection (never
 * through a transaction-pooling proxy) LISTENs on the fixed channels and filters by key in
 * process; the same connection publishes, so one replica's messages leave in publish order.
 * This process's own handlers get a message when it is published, and its notification, which
 * comes back from the bus connection's own backend, is dropped (issue 12: the round trip through
 * PostgreSQL was ~1.5 ms of every event's way to a stream of the same replica).
 * When the connection drops it reconnects and LISTENs again; publishes made meanwhile wait in a
 * bounded outbox, and notifications sent meanwhile are lost (the bus is at most once).
 */
export class PostgresBus extends EventBus implements OnApplicationShutdown {
  private readonly logger = new Logger('PostgresBus');
  private readonly handlers = new BusHandlers(this.logger);
  private readonly notifyMaxBytes: number;
  private client?: Client;
  /** Statements not sent yet, in publish order (also while reconnecting, bounded). */
  private outbox: Outgoing[] = [];
  private flushing = false;
  private flushScheduled = false;
  /** A publish is delivering locally: the outbox's flush is scheduled once it is done. */
  private holding = false;
  /** Makes every payload unique: PostgreSQL folds identical notifications of one transaction. */
  private counter = 0;
  /** Notifications are handled one after another: an overflow read must not reorder them. */
  private delivery: Promise<void> = Promise.resolve();
  /** Statements go one at a time, in order (pg's own queue is deprecated). */
  private statements: Promise<unknown> = Promise.resolve();
  private reconnectTimer?: NodeJS.Timeout;
  private cleanupTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: PostgresBusOptions) {
    super();
    this.notifyMaxBytes = options.notifyMaxBytes ?? NOTIFY_MAX_BYTES;
  }

  /** Connects and LISTENs; rejects when the first connection fails. */
  async start(): Promise<void> {
    await this.connect();
    this.cleanupTimer = setInterval(
      () =>
        this.send({
          sql: `DELETE FROM bus_overflow WHERE created_at < now() - interval '${OVERFLOW_TTL}'`,
          params: [],
        }),
      this.options.cleanupMs ?? 60_000,
    );
    this.cleanupTimer.unref();
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  /**
   * Queued for the other replicas first: what a handler publishes in turn goes out after it.
   * The outbox's flush is scheduled after the local delivery, so the frames it made for this
   * replica's streams are written before the NOTIFY: a write to PostgreSQL can hand this
   * process's core to the backend it wakes, and a turn's first delta waited behind it (issue 12).
   */
  publish(channel: string, message: unknown): void {
    const outer = !this.holding;
    this.holding = true;
    try {
      this.sendOut(channel, message);
      this.handlers.deliverOwn(channel, message, this.options.metrics);
    } finally {
      if (outer) {
        this.holding = false;
        this.scheduleFlush();
      }
    }
  }

  subscriberCount(channel: string): number {
    return this.handlers.count(channel);
  }

  subscribe(channel: string, handler: (message: unknown) => void): () => void {
    const { remove } = this.handlers.add(channel, handler);
    return () => void remove();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.cleanupTimer);
    const client = this.client;
    this.client = undefined;
    await this.delivery;
    await client?.end().catch(() => undefined);
  }

  private sendOut(channel: string, message: unknown): void {
    const t = Date.now();
    const n = ++this.counter;
    const text = JSON.stringify({ k: channel, m: message, t, n } satisfies Notice);
    const pgChannel = pgChannelOf(channel);
    if (Buffer.byteLength(text) <= this.notifyMaxBytes) {
      this.send({ notify: [pgChannel, text] });
      return;
    }
    // One statement, so it stays in order with the small notifications around it.
    this.send({
      sql: `WITH row AS (INSERT INTO bus_overflow (payload) VALUES ($1::jsonb) RETURNING id)
       SELECT pg_notify($2, json_build_object('k', $3::text, 'ref', row.id::text, 't', $4::bigint)::text)
       FROM row`,
      params: [JSON.stringify(message), pgChannel, channel, t],
    });
  }

  private send(item: Outgoing): void {
    if (this.closed) {
      return;
    }
    // Bounded only while the connection is down; a connected burst is sent as fast as it can.
    if (!this.client && this.outbox.length >= BACKLOG_MAX) {
      this.outbox.shift();
      this.logger.warn('Bus outbox full while reconnecting: dropped the oldest message');
    }
    this.outbox.push(item);
    this.scheduleFlush();
  }

  /**
   * The outbox is sent once the current turn of the event loop is done, so what it publishes
   * leaves together in one statement: a unit of work's events and the deltas relayed right
   * after it (a turn's `response.created`, `in_progress` and first deltas) are one round trip
   * instead of the first alone and the rest behind it (issue 12, POST → first delta).
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing || this.holding) {
      return;
    }
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /**
   * Sends the outbox in order, consecutive notifications together in one statement (one round
   * trip for many messages). A batch that never ran because the connection went is kept for
   * the next connection.
   */
  private async flush(): Promise<void> {
    if (this.flushing) {
      return;
    }
    this.flushing = true;
    try {
      while (this.client && this.outbox.length > 0 && !this.closed) {
        const client = this.client;
        const batch = this.nextBatch();
        const [sql, params, name] = toStatement(batch);
        try {
          await this.run(client, sql, params, name);
        } catch (error) {
          if (this.closed || !isConnectionLoss(error as Error)) {
            this.logger.warn(`Bus publish failed: ${(error as Error).message}`);
            continue;
          }
          this.outbox.unshift(...batch);
          this.lost(client, error as Error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private nextBatch(): Outgoing[] {
    if (!this.outbox[0].notify) {
      return this.outbox.splice(0, 1);
    }
    let size = 0;
    while (size < this.outbox.length && size < BATCH_MAX && this.outbox[size].notify) {
      size++;
    }
    return this.outbox.splice(0, size);
  }

  /** `name`: a statement prepared once per connection (this one is never pooled: see above). */
  private run<R extends object = object>(
    client: Client,
    sql: string,
    params: unknown[],
    name?: string,
  ): Promise<{ rows: R[] }> {
    // Without a name, pg sends the statement unnamed (parsed on every call), as before.
    const result = this.statements.then(() => client.query<R>({ name, text: sql, values: params }));
    this.statements = result.catch(() => undefined);
    return result;
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.options.url,
      application_name: this.options.applicationName ?? 'omnigent-bus',
      // A silently dead connection must fail (and reconnect) rather than hold the queue.
      keepAlive: true,
      query_timeout: 15_000,
    });
    client.on('notification', (notification) => {
      // Ours (sent by this connection's backend): its handlers had it at publish.
      if (notification.processId !== backendPid(client)) {
        this.onNotification(notification);
      }
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(ALL_PG_CHANNELS.map((c) => `LISTEN ${c}`).join('; '));
    } catch (error) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    void this.flush();
  }

  private lost(client: Client, error: Error): void {
    if (this.client !== client) {
      return;
    }
    this.client = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.closed) {
      return;
    }
    this.logger.warn(`Bus connection lost (${error.message}); reconnecting`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => this.logger.log('Bus connection restored'),
        (error: Error) => {
          this.logger.warn(`Bus reconnect failed: ${error.message}`);
          if (!this.closed) {
            this.scheduleReconnect();
          }
        },
      );
    }, this.options.reconnectMs ?? 1000);
    this.reconnectTimer.unref();
  }

  private onNotification(notification: Notification): void {
    const payload = notification.payload ?? '';
    const key = keyOf(payload);
    if (key !== undefined && !this.handlers.has(key)) {
      return;
    }
    let notice: Notice;
    try {
      notice = JSON.parse(payload) as Notice;
    } catch {
      this.logger.warn(`Ignored a malformed notification on ${notification.channel}`);
      return;
    }
    if (!this.handlers.has(notice.k)) {
      return;
    }
    this.delivery = this.delivery.then(async () => {
      let message = notice.m;
      if (notice.ref !== undefined) {
        message = await this.readOverflow(notice.ref);
        if (message === undefined) {
          return;
        }
      }
      this.handlers.deliver(notice.k, message);
      this.options.metrics?.busLag.observe(Math.max(0, Date.now() - notice.t) / 1000);
    });
  }

  private async readOverflow(id: string): Promise<unknown> {
    try {
      const result = await this.run<{ payload: unknown }>(
        this.client as Client,
        'SELECT payload FROM bus_overflow WHERE id = $1',
        [id],
      );
      if (result.rows.length === 0) {
        this.logger.warn(`Overflow message ${id} is gone (older than ${OVERFLOW_TTL}?)`);
      }
      return result.rows[0]?.payload;
    } catch (error) {
      this.logger.warn(`Could not read overflow message ${id}: ${(error as Error).message}`);
      return undefined;
    }
  }
}

/**
 * Consecutive notifications as one statement (in array order), or the statement. Notifications
 * go by name, prepared once per connection: PostgreSQL parsed each one anew (0.07-0.3 ms of its
 * CPU, about three per turn; issue 12).
 */
function toStatement(batch: Outgoing[]): [string, unknown[], string?] {
  if (!batch[0].notify) {
    return [batch[0].sql as string, batch[0].params as unknown[]];
  }
  const notices = batch.map((item) => item.notify as [string, string]);
  if (notices.length === 1) {
    return ['SELECT pg_notify($1, $2)', notices[0], 'omnigent_bus_notify'];
  }
  // One JSON parameter: `pg` would escape two text[] literals character by character in JS.
  return [
    'SELECT pg_notify(n->>0, n->>1) FROM json_array_elements($1::json) AS t(n)',
    [JSON.stringify(notices)],
    'omnigent_bus_notify_many',
  ];
}

/**
 * The key of a payload `publish` wrote (`{"k":"…",…}`), read without parsing the rest: most
 * notifications are for keys this replica has no subscriber for. Undefined when it is not plain.
 */
function keyOf(payload: string): string | undefined {
  return /^\{"k":"([^"\\]*)"/.exec(payload)?.[1];
}

/** Errors of a lost connection (not of the statement): no SQLSTATE, or classes 08 and 57. */
function isConnectionLoss(error: Error): boolean {
  const code = (error as DatabaseError).code ?? '';
  return !(error instanceof DatabaseError) || code.startsWith('08') || code.startsWith('57');
}

/** The PID of the client's backend (`pg` has it from the start-up; its types leave it out). */
function backendPid(client: Client): number | null {
  return (client as Client & { processID: number | null }).processID;
}

function pgChannelOf(key: string): string {
  return PG_CHANNELS[key.slice(0, key.indexOf(':'))] ?? 'omni_x';
}
