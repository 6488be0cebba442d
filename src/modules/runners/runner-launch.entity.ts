import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * A binding token minted for a launched runner (spec/auth.md §5.4): only its SHA-256 is kept.
 * The runner id is derived from the token, so the record proves who owns that id.
 */
@Entity('runner_launches')
export class RunnerLaunchEntity {
  @PrimaryColumn({ name: 'runner_id', type: 'text' })
  runnerId: string;

  @Column({ name: 'token_hash', type: 'text' })
  tokenHash: string;

  @Column({ name: 'owner_id', type: 'text' })
  ownerId: string;

  @Column({ name: 'session_id', type: 'text', nullable: true })
  sessionId: string | null;

  @Column({ name: 'host_id', type: 'text', nullable: true })
  hostId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
