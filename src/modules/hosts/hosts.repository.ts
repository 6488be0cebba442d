import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { HostEntity } from 'src/modules/hosts/host.entity';

@Injectable()
export class HostsRepository {
  constructor(@InjectRepository(HostEntity) private readonly hosts: Repository<HostEntity>) {}

  getById(hostId: string): Promise<HostEntity | null> {
    return this.hosts.findOneBy({ hostId });
  }

  listByOwner(ownerId: string): Promise<HostEntity[]> {
    return this.hosts.find({ where: { ownerId }, order: { createdAt: 'ASC' } });
  }

  getMany(hostIds: string[]): Promise<HostEntity[]> {
    if (hostIds.length === 0) {
      return Promise.resolve([]);
    }
    return this.hosts
      .createQueryBuilder('h')
      .where('h.hostId IN (:...hostIds)', { hostIds })
      .getMany();
  }

  /**
   * Records a new connection of the host: the epoch goes up, so writes of any older connection
   * are ignored from now on. A host id that belongs to another user is left alone (null).
   */
  async register(row: {
    hostId: string;
    ownerId: string;
    name: string;
    version: string;
    replicaId: string;
    capabilities: HostEntity['capabilities'];
  }): Promise<number | null> {
    const rows: { epoch: string }[] = await this.hosts.query(
      `INSERT INTO hosts (host_id, owner_id, name, version, replica_id, epoch, connected, connected_at, last_seen_at, capabilities)
       VALUES ($1, $2, $3, $4, $5, 1, true, now(), now(), $6)
       ON CONFLICT (host_id) DO UPDATE SET
         name = EXCLUDED.name, version = EXCLUDED.version, replica_id = EXCLUDED.replica_id,
         epoch = hosts.epoch + 1, connected = true, connected_at = now(), last_seen_at = now(),
         disconnected_at = NULL, capabilities = EXCLUDED.capabilities
       WHERE hosts.owner_id = EXCLUDED.owner_id
       RETURNING epoch`,
      [
        row.hostId,
        row.ownerId,
        row.name,
        row.version,
        row.replicaId,
        JSON.stringify(row.capabilities),
      ],
    );
    return rows.length > 0 ? Number(rows[0].epoch) : null;
  }

  async touch(hostId: string, epoch: number): Promise<void> {
    await this.hosts.query(
      `UPDATE hosts SET last_seen_at = now() WHERE host_id = $1 AND epoch = $2 AND connected`,
      [hostId, epoch],
    );
  }

  async updateCapabilities(
    hostId: string,
    epoch: number,
    capabilities: HostEntity['capabilities'],
  ): Promise<void> {
    await this.hosts.query(`UPDATE hosts SET capabilities = $3 WHERE host_id = $1 AND epoch = $2`, [
      hostId,
      epoch,
      JSON.stringify(capabilities),
    ]);
  }

  async markDisconnected(hostId: string, epoch: number): Promise<void> {
    await this.hosts.query(
      `UPDATE hosts SET connected = false, disconnected_at = now()
       WHERE host_id = $1 AND epoch = $2 AND connected`,
      [hostId, epoch],
    );
  }
}
