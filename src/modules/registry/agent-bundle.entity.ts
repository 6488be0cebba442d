import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * An uploaded agent bundle (.tar.gz) as is, stored once per content: agents reference it by its
 * SHA-256, so forks of a session-scoped agent share one copy. Deleted with its last agent.
 */
@Entity('agent_bundles')
export class AgentBundleEntity {
  /** Lowercase hex SHA-256 of `data`. */
  @PrimaryColumn({ type: 'text' })
  sha256: string;

  @Column({ type: 'bytea' })
  data: Buffer;

  @Column({ type: 'integer' })
  size: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
