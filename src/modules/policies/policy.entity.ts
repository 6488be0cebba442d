import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** A stored policy: a session's (`scope: session`) or a server-wide default (`scope: default`). */
@Entity('policies')
@Index('uq_policies_session_name', { synchronize: false })
@Index('uq_policies_default_name', { synchronize: false })
export class PolicyEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  scope: 'session' | 'default';

  /** Null for server-wide defaults. */
  @Column({ name: 'session_id', type: 'text', nullable: true })
  sessionId: string | null;

  @Column({ type: 'text' })
  name: string;

  /** `python` on the wire: a registry handler. */
  @Column({ type: 'text' })
  type: string;

  @Column({ type: 'text' })
  handler: string;

  @Column({ name: 'factory_params', type: 'jsonb', nullable: true })
  factoryParams: Record<string, unknown> | null;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @Column({ name: 'created_by', type: 'text', nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Null until the first PATCH (upstream shows `updated_at: null` for untouched rows). */
  @Column({ name: 'updated_at', type: 'timestamptz', nullable: true })
  updatedAt: Date | null;
}
