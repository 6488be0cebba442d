import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Policies (spec/policies.md §8.2): stored session and server-wide ("default") policies, the
 * per-session policy state the handlers read and write, and approvals (elicitations,
 * spec/runner-protocol.md §10), persisted so a pending approval survives restarts.
 */
export class CreatePoliciesAndElicitations1796223270206 implements MigrationInterface {
  name = 'CreatePoliciesAndElicitations1796223270206';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE policies (
        id text PRIMARY KEY,
        scope text NOT NULL CONSTRAINT policies_scope_check CHECK (scope IN ('session', 'default')),
        session_id text CONSTRAINT policies_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
        name text NOT NULL,
        type text NOT NULL,
        handler text NOT NULL,
        factory_params jsonb,
        enabled boolean NOT NULL DEFAULT true,
        created_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz,
        CONSTRAINT policies_session_scope_check CHECK ((scope = 'session') = (session_id IS NOT NULL))
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX uq_policies_session_name ON policies (session_id, name) WHERE scope = 'session'`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX uq_policies_default_name ON policies (name) WHERE scope = 'default'`,
    );
    await queryRunner.query(`
      CREATE TABLE policy_session_states (
        session_id text PRIMARY KEY CONSTRAINT policy_session_states_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
        state jsonb NOT NULL DEFAULT '{}'::jsonb,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE elicitations (
        id text PRIMARY KEY,
        session_id text NOT NULL CONSTRAINT elicitations_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
        turn_id text,
        call_id text,
        kind text NOT NULL DEFAULT 'policy',
        phase text,
        policy_names text[],
        params jsonb NOT NULL,
        deferred_writes jsonb,
        pending_input jsonb,
        status text NOT NULL DEFAULT 'pending' CONSTRAINT elicitations_status_check
          CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled', 'expired')),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        resolved_at timestamptz,
        resolved_by text,
        resolution jsonb,
        delivered_at timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX ix_elicitations_session_id_pending ON elicitations (session_id) WHERE status = 'pending'`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_elicitations_expires_at_pending ON elicitations (expires_at) WHERE status = 'pending'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE elicitations`);
    await queryRunner.query(`DROP TABLE policy_session_states`);
    await queryRunner.query(`DROP TABLE policies`);
  }
}
