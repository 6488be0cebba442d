import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Agents, sessions, their items and the durable stream event log. Indexes serve the hot reads:
 * a user's session list in either sort order, a session's items in order, full-text search over
 * titles and message text, and Last-Event-ID replay.
 */
export class CreateAgentsAndSessions1764300000001 implements MigrationInterface {
  name = 'CreateAgentsAndSessions1764300000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE agents (
        id text PRIMARY KEY,
        name text NOT NULL,
        version integer NOT NULL DEFAULT 1,
        description text,
        harness text,
        spec jsonb NOT NULL,
        yaml text NOT NULL,
        bundle bytea,
        builtin boolean NOT NULL DEFAULT false,
        owner_session_id text,
        owner_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX uq_agents_builtin_name ON agents (name) WHERE builtin`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_agents_catalog ON agents (created_at DESC, id DESC) WHERE owner_session_id IS NULL`,
    );
    await queryRunner.query(`CREATE INDEX ix_agents_owner_session_id ON agents (owner_session_id)`);

    await queryRunner.query(`
      CREATE TABLE sessions (
        id text PRIMARY KEY,
        owner_id text NOT NULL,
        agent_id text NOT NULL CONSTRAINT sessions_agent_id_fkey REFERENCES agents (id),
        title text,
        labels jsonb NOT NULL DEFAULT '{}'::jsonb,
        live_status text NOT NULL DEFAULT 'idle'
          CONSTRAINT ck_sessions_live_status CHECK (live_status IN ('idle', 'running', 'waiting', 'failed')),
        kind text NOT NULL DEFAULT 'default' CONSTRAINT ck_sessions_kind CHECK (kind IN ('default', 'sub_agent')),
        parent_session_id text CONSTRAINT sessions_parent_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
        root_session_id text,
        sub_agent_name text,
        archived boolean NOT NULL DEFAULT false,
        runner_id text,
        host_id text,
        workspace text,
        model_override text,
        reasoning_effort text,
        external_session_id text,
        cost_control_mode_override text,
        subagent_routing_override text,
        terminal_launch_args jsonb,
        current_turn_id text,
        cancel_requested_turn_id text,
        event_seq bigint NOT NULL DEFAULT 0,
        log_seq bigint NOT NULL DEFAULT 0,
        last_error jsonb,
        last_total_tokens integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX ix_sessions_owner_created ON sessions (owner_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_sessions_owner_updated ON sessions (owner_id, updated_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_sessions_runner_id ON sessions (runner_id) WHERE runner_id IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_sessions_parent_created ON sessions (parent_session_id, created_at DESC, id DESC) WHERE parent_session_id IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_sessions_title_search ON sessions USING gin (to_tsvector('simple', coalesce(title, '')))`,
    );

    await queryRunner.query(`
      CREATE TABLE items (
        session_id text NOT NULL CONSTRAINT items_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
        id text NOT NULL,
        position bigserial NOT NULL,
        response_id text NOT NULL,
        type text NOT NULL,
        status text NOT NULL,
        data jsonb NOT NULL,
        created_by text,
        text_content text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_items PRIMARY KEY (session_id, id)
      )`);
    await queryRunner.query(
      `CREATE INDEX ix_items_session_position ON items (session_id, position)`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_items_session_response ON items (session_id, response_id)`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_items_text_search ON items USING gin (to_tsvector('simple', text_content)) WHERE text_content IS NOT NULL`,
    );

    await queryRunner.query(`
      CREATE TABLE session_event_log (
        session_id text NOT NULL CONSTRAINT session_event_log_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        type text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_session_event_log PRIMARY KEY (session_id, seq)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE session_event_log`);
    await queryRunner.query(`DROP TABLE items`);
    await queryRunner.query(`DROP TABLE sessions`);
    await queryRunner.query(`DROP TABLE agents`);
  }
}
