import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * An agent: a built-in template from `agents/` or a session-scoped agent uploaded as a bundle
 * (then `ownerSessionId` is its session and it never appears in the catalog).
 */
@Entity('agents')
@Index('uq_agents_builtin_name', { synchronize: false })
@Index('ix_agents_catalog', { synchronize: false })
@Index('ix_agents_owner_session_id', ['ownerSessionId'])
@Index('ix_agents_bundle_sha256', { synchronize: false })
export class AgentEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'integer', default: 1 })
  version: number;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'text', nullable: true })
  harness: string | null;

  /** The parsed spec as JSON (agentSpecToJson), which runners receive. */
  @Column({ type: 'jsonb' })
  spec: Record<string, unknown>;

  /** The YAML exactly as shipped or uploaded. */
  @Column({ type: 'text' })
  yaml: string;

  /** The uploaded bundle's content address (agent_bundles.sha256); null for built-ins. */
  @Column({ name: 'bundle_sha256', type: 'text', nullable: true })
  bundleSha256: string | null;

  @Column({ type: 'boolean', default: false })
  builtin: boolean;

  @Column({ name: 'owner_session_id', type: 'text', nullable: true })
  ownerSessionId: string | null;

  @Column({ name: 'owner_id', type: 'text', nullable: true })
  ownerId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
