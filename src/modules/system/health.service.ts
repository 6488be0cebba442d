import { Injectable } from '@nestjs/common';

import { IdPrefix, normalizeId } from 'src/common/ids/ids';
import { HealthResponseDto, SessionLivenessDto } from 'src/modules/system/dto/system-response.dto';
import { HealthQueryDto } from 'src/modules/system/dto/health-query.dto';
import { SessionsService } from 'src/modules/sessions/sessions.service';

const MAX_SESSION_IDS = 500;

@Injectable()
export class HealthService {
  constructor(private readonly sessions: SessionsService) {}

  /**
   * `{status:"ok"}`, plus runner liveness for the sessions asked about. Hosts don't exist yet, so
   * host fields are null. Unknown or malformed ids read as offline (upstream says online; an
   * offline default cannot mislead a client into posting).
   */
  async health(query: HealthQueryDto): Promise<HealthResponseDto> {
    const single = query.session_id?.trim() || undefined;
    const many = (query.session_ids ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .slice(0, MAX_SESSION_IDS);
    if (!single && many.length === 0) {
      return { status: 'ok' };
    }
    const asked = [...(single ? [single] : []), ...many];
    const canonical = new Map(asked.map((raw) => [raw, normalizeId(IdPrefix.Session, raw)]));
    const online = await this.sessions.liveness(
      [...canonical.values()].filter((id): id is string => id !== null),
    );
    const liveness = (raw: string): Omit<SessionLivenessDto, 'id'> => ({
      runner_online: online.get(canonical.get(raw) ?? '') ?? false,
      host_online: null,
      host_version: null,
    });
    return {
      status: 'ok',
      ...(single ? { session: { id: single, ...liveness(single) } } : {}),
      ...(many.length > 0
        ? { sessions: Object.fromEntries(many.map((id) => [id, liveness(id)])) }
        : {}),
    };
  }
}
