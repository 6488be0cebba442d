import { Injectable } from '@nestjs/common';

import { AuthPrincipal } from 'src/common/auth/auth-principal';
import { UsersRepository } from 'src/common/auth/users.repository';

const TOUCH_INTERVAL_MS = 5 * 60_000;

@Injectable()
export class UsersService {
  // Remembers when each user was last written, so a busy client costs one write per interval,
  // not one per request.
  private readonly touched = new Map<string, { at: number; isAdmin: boolean }>();

  constructor(private readonly users: UsersRepository) {}

  async touch(principal: AuthPrincipal): Promise<void> {
    if (principal.kind === 'runner') {
      return;
    }
    const now = Date.now();
    const last = this.touched.get(principal.userId);
    if (last && last.isAdmin === principal.isAdmin && now - last.at < TOUCH_INTERVAL_MS) {
      return;
    }
    this.touched.set(principal.userId, { at: now, isAdmin: principal.isAdmin });
    if (this.touched.size > 10_000) {
      this.touched.clear();
    }
    await this.users.upsertSeen(principal.userId, principal.isAdmin);
  }
}
