import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

import { bigintNumber } from 'src/database/transformers';

/** One row per runner id: the directory every replica reads liveness from. */
@Entity('runner_connections')
@Index('ix_runner_connections_owner', { synchronize: false })
export class RunnerConnectionEntity {
  @PrimaryColumn({ name: 'runner_id', type: 'text' })
  runnerId: string;

  @Column({ name: 'owner_id', type: 'text' })
  ownerId: string;

  @Column({ name: 'replica_id', type: 'text', nullable: true })
  replicaId: string | null;

  /** Bumped by every new connection; writes of an older connection are ignored. */
  @Column({ type: 'bigint', default: 0, transformer: bigintNumber })
  epoch: number;

  @Column({ type: 'boolean', default: false })
  connected: boolean;

  @Column({ name: 'connected_at', type: 'timestamptz', nullable: true })
  connectedAt: Date | null;

  @Column({ name: 'last_seen_at', type: 'timestamptz', nullable: true })
  lastSeenAt: Date | null;

  @Column({ name: 'disconnected_at', type: 'timestamptz', nullable: true })
  disconnectedAt: Date | null;

  /** The epoch whose death was handled (its mid-turn sessions failed), so it happens once. */
  @Column({ name: 'death_handled_epoch', type: 'bigint', default: 0, transformer: bigintNumber })
  deathHandledEpoch: number;

  @Column({ type: 'jsonb', nullable: true })
  hello: Record<string, unknown> | null;

  @Column({ name: 'exit_error', type: 'text', nullable: true })
  exitError: string | null;

  @Column({ name: 'exit_error_at', type: 'timestamptz', nullable: true })
  exitErrorAt: Date | null;

  /** When a channel was last admitted (hello pending until connectedAt catches up). */
  @Column({ name: 'admitted_at', type: 'timestamptz', nullable: true })
  admittedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
