import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Content-addressed bundle storage (issue 16 finding 5): one row per distinct uploaded bundle,
 * keyed by its SHA-256, which agents reference; forks of a session-scoped agent share it instead
 * of copying it. The data moves over in the next migration.
 */
export class CreateAgentBundles1796224066343 implements MigrationInterface {
  name = 'CreateAgentBundles1796224066343';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE agent_bundles (
        sha256 text PRIMARY KEY,
        data bytea NOT NULL,
        size integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `ALTER TABLE agents ADD COLUMN bundle_sha256 text
         CONSTRAINT agents_bundle_sha256_fkey REFERENCES agent_bundles (sha256)`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_agents_bundle_sha256 ON agents (bundle_sha256) WHERE bundle_sha256 IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX ix_agents_bundle_sha256`);
    await queryRunner.query(`ALTER TABLE agents DROP COLUMN bundle_sha256`);
    await queryRunner.query(`DROP TABLE agent_bundles`);
  }
}
