import { Logger } from '@nestjs/common';
import { DataSource, DataSourceOptions } from 'typeorm';

import { getConfig } from 'src/config/app-config';
import { EmbeddedPostgres, startEmbeddedPostgres } from 'src/database/embedded/embedded-postgres';
import { typeOrmOptions } from 'src/database/typeorm-options';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import { AgentsRepository, NewAgent } from 'src/modules/registry/agents.repository';
import { RunnerConnectionEntity } from 'src/modules/runners/runner-connection.entity';
import { RunnerLaunchEntity } from 'src/modules/runners/runner-launch.entity';
import { RunnersRepository } from 'src/modules/runners/runners.repository';
import { ItemEntity } from 'src/modules/sessions/item.entity';
import { ItemsRepository, NewItem } from 'src/modules/sessions/items.repository';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionFields, SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventEntity } from 'src/modules/sessions/stream/session-event.entity';
import { SessionEventsRepository } from 'src/modules/sessions/stream/session-events.repository';
import { StoredItem } from 'src/protocol/items';
import { agentFactory, itemFactory, sessionFactory } from 'test/factories';
import { embeddedDataDir, removeDataDir } from 'test/utils/test-database';

/**
 * `postgres`: the machine's PostgreSQL (the run's shared integration database). `embedded`: the
 * server's own embedded PostgreSQL, started on a copy of the migrated template.
 */
export type IntegrationDatabase = 'embedded' | 'postgres';

/** Every integration spec runs once per database (see describeIntegration). */
export const INTEGRATION_DATABASES: IntegrationDatabase[] = ['postgres', 'embedded'];

export interface IntegrationContext {
  kind: IntegrationDatabase;
  /** The connection URL, for tests that need connections of their own. */
  url: string;
  dataSource: DataSource;
  agents: AgentsRepository;
  events: SessionEventsRepository;
  items: ItemsRepository;
  runners: RunnersRepository;
  sessions: SessionsRepository;
  /** Inserts a catalog agent (or whatever the overrides make it) through `AgentsRepository`. */
  newAgent(overrides?: NewAgent): Promise<AgentEntity>;
  /** Inserts a session of a fresh owner (unless given) on this context's default agent. */
  newSession(overrides?: SessionFields): Promise<SessionEntity>;
  /** Upserts one item (a user message unless overridden); fails when the upsert stored nothing. */
  newItem(sessionId: string, overrides?: Partial<NewItem>): Promise<StoredItem>;
  close(): Promise<void>;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the integration project (test/global-setup.ts)`);
  }
  return value;
}

async function closeEmbedded(embedded: EmbeddedPostgres | undefined, dataDir?: string) {
  await embedded?.stop();
  if (dataDir) {
    removeDataDir(dataDir);
  }
}

/**
 * Real repositories over a migrated database, without Nest (style rule 21), with the server's
 * pool. PostgreSQL is the run's shared database, so fixtures default to fresh owners and names;
 * the embedded database is a private copy of the migrated template.
 */
export async function createIntegrationContext(
  kind: IntegrationDatabase,
): Promise<IntegrationContext> {
  // The embedded database announces itself at `log` level once per file.
  Logger.overrideLogger(['error', 'warn']);
  let embedded: EmbeddedPostgres | undefined;
  let dataDir: string | undefined;
  let url: string;
  if (kind === 'postgres') {
    url = requiredEnv('OMNIGENT_TEST_INTEGRATION_DATABASE_URL');
  } else {
    requiredEnv('OMNIGENT_TEST_EMBEDDED_TEMPLATE');
    dataDir = embeddedDataDir();
    embedded = await startEmbeddedPostgres({ dataDir });
    url = embedded.url;
  }
  const config = getConfig({ DATABASE_URL: url });
  const options: DataSourceOptions = typeOrmOptions(config);
  let dataSource: DataSource;
  try {
    dataSource = await new DataSource(options).initialize();
  } catch (error) {
    await closeEmbedded(embedded, dataDir);
    throw error;
  }

  const agents = new AgentsRepository(dataSource.getRepository(AgentEntity));
  const events = new SessionEventsRepository(dataSource.getRepository(SessionEventEntity));
  const items = new ItemsRepository(dataSource.getRepository(ItemEntity));
  const runners = new RunnersRepository(
    dataSource.getRepository(RunnerConnectionEntity),
    dataSource.getRepository(RunnerLaunchEntity),
  );
  const sessions = new SessionsRepository(
    dataSource.getRepository(SessionEntity),
    dataSource,
    config,
  );

  const newAgent = (overrides: NewAgent = {}): Promise<AgentEntity> =>
    agents.insertWith(dataSource.manager, agentFactory(overrides));

  let defaultAgent: Promise<AgentEntity> | undefined;
  const newSession = async (overrides: SessionFields = {}): Promise<SessionEntity> => {
    const agentId = overrides.agentId ?? (await (defaultAgent ??= newAgent())).id;
    return sessions.insert(dataSource.manager, sessionFactory({ agentId, ...overrides }));
  };

  const newItem = async (sessionId: string, overrides: Partial<NewItem> = {}) => {
    const item = itemFactory(overrides);
    const [stored] = await items.upsert(dataSource.manager, sessionId, [item]);
    if (!stored) {
      throw new Error(`item ${item.id} already exists in ${sessionId} as a different item`);
    }
    return stored;
  };

  return {
    kind,
    url,
    dataSource,
    agents,
    events,
    items,
    runners,
    sessions,
    newAgent,
    newSession,
    newItem,
    async close() {
      try {
        await dataSource.destroy();
      } finally {
        await closeEmbedded(embedded, dataDir);
      }
    },
  };
}

/**
 * One integration spec on every database (INTEGRATION_DATABASES): `fn` declares the tests once
 * with a context that is ready inside hooks and tests (it is filled in by `beforeAll`) and
 * closed after the block.
 */
export function describeIntegration(
  name: string,
  fn: (ctx: IntegrationContext, kind: IntegrationDatabase) => void,
): void {
  describe(name, () => {
    describe.each(INTEGRATION_DATABASES)('on %s', (kind) => {
      const ctx = { kind } as IntegrationContext;

      beforeAll(async () => {
        Object.assign(ctx, await createIntegrationContext(kind));
      });

      afterAll(async () => {
        await ctx.close?.();
      });

      fn(ctx, kind);
    });
  });
}
