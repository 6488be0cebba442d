import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

import { bigintNumber } from 'src/database/transformers';
import type { HarnessAvailability } from 'src/protocol/host-protocol';

/** One row per host id: owner, newest connection (epoch) and liveness, read by every replica. */
@Entity('hosts')
@Index('ix_hosts_owner_id', { synchronize: false })
export class HostEntity {
  @PrimaryColumn({ name: 'host_id', type: 'text' })
  hostId: string;

  @Column({ name: 'owner_id', type: 'text' })
  ownerId: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text', nullable: true })
  version: string | null;

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

  @Column({ type: 'jsonb', nullable: true })
  capabilities: { harnesses?: HarnessAvailability } | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
