import { MigrationInterface, QueryRunner } from 'typeorm';

/** Moves each agent's bundle bytes into agent_bundles (one row per distinct content). */
export class MoveAgentBundles1796224066344 implements MigrationInterface {
  name = 'MoveAgentBundles1796224066344';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      INSERT INTO agent_bundles (sha256, data, size)
      SELECT DISTINCT ON (digest) digest, bundle, length(bundle)
      FROM (SELECT encode(sha256(bundle), 'hex') AS digest, bundle FROM agents
            WHERE bundle IS NOT NULL) b
      ON CONFLICT (sha256) DO NOTHING`);
    await queryRunner.query(
      `UPDATE agents SET bundle_sha256 = encode(sha256(bundle), 'hex') WHERE bundle IS NOT NULL`,
    );
    await queryRunner.query(`ALTER TABLE agents DROP COLUMN bundle`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE agents ADD COLUMN bundle bytea`);
    await queryRunner.query(
      `UPDATE agents a SET bundle = b.data FROM agent_bundles b WHERE b.sha256 = a.bundle_sha256`,
    );
    await queryRunner.query(`UPDATE agents SET bundle_sha256 = NULL`);
    await queryRunner.query(`DELETE FROM agent_bundles`);
  }
}
