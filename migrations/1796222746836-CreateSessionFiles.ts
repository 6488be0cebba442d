import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Files uploaded to a session (spec/api-reference.md §8.2). The bytes live in the file store
 * (local disk under the data directory by default) under `storage_key`; the row goes with its
 * session (ON DELETE CASCADE) and the service removes the blobs.
 */
export class CreateSessionFiles1796222746836 implements MigrationInterface {
  name = 'CreateSessionFiles1796222746836';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE session_files (
        id text PRIMARY KEY,
        session_id text NOT NULL
          CONSTRAINT session_files_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
        filename text NOT NULL,
        content_type text NOT NULL,
        bytes bigint NOT NULL,
        storage_key text NOT NULL,
        created_by text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX ix_session_files_session_created ON session_files (session_id, created_at, id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE session_files`);
  }
}
