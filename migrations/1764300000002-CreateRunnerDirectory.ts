import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The runner directory (spec/runner-protocol.md §9): which runner is connected, to which replica,
 * under which epoch (newest connection wins), and when it was last heard from. Launch records
 * hold the hashes of binding tokens minted for host-launched runners.
 */
export class CreateRunnerDirectory1764300000002 implements MigrationInterface {
  name = 'CreateRunnerDirectory1764300000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE runner_connections (
        runner_id text PRIMARY KEY,
        owner_id text NOT NULL,
        replica_id text,
        epoch bigint NOT NULL DEFAULT 0,
        connected boolean NOT NULL DEFAULT false,
        connected_at timestamptz,
        last_seen_at timestamptz,
        disconnected_at timestamptz,
        death_handled_epoch bigint NOT NULL DEFAULT 0,
        hello jsonb,
        exit_error text,
        exit_error_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX ix_runner_connections_owner ON runner_connections (owner_id) WHERE connected`,
    );
    await queryRunner.query(`
      CREATE TABLE runner_launches (
        runner_id text PRIMARY KEY,
        token_hash text NOT NULL,
        owner_id text NOT NULL,
        session_id text CONSTRAINT runner_launches_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
        host_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE runner_launches`);
    await queryRunner.query(`DROP TABLE runner_connections`);
  }
}
