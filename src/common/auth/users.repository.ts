import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { UserEntity } from 'src/common/auth/user.entity';

@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  /** Inserts the user or refreshes its admin snapshot and last-seen time. */
  async upsertSeen(id: string, isAdmin: boolean): Promise<void> {
    await this.users.query(
      `INSERT INTO users (id, is_admin, last_seen_at) VALUES ($1, $2, now())
       ON CONFLICT (id) DO UPDATE SET is_admin = EXCLUDED.is_admin, last_seen_at = now()`,
      [id, isAdmin],
    );
  }
}
