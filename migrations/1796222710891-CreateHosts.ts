import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The host directory (spec/runner-protocol.md §9, §10): one row per host id, owned by the user
 * who registered it, with the epoch of its newest connection and its liveness.
 */
export class CreateHosts1796222710891 implements MigrationInterface {
  name = 'CreateHosts1796222710891';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE hosts (
        host_id text PRIMARY KEY,
        owner_id text NOT NULL,
        name text NOT NULL,
        version text,
        replica_id text,
        epoch bigint NOT NULL DEFAULT 0,
        connected boolean NOT NULL DEFAULT false,
        connected_at timestamptz,
        last_seen_at timestamptz,
        disconnected_at timestamptz,
        capabilities jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX ix_hosts_owner_id ON hosts (owner_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE hosts`);
  }
}
