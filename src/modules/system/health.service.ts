import { IncomingMessage } from 'node:http';

import { Inject, Injectable } from '@nestjs/common';

import { AuthPrincipal, LOCAL_PRINCIPAL } from 'src/common/auth/auth-principal';
import { JwtVerifierService } from 'src/common/auth/jwt-verifier.service';
import { IdPrefix, normalizeId } from 'src/common/ids/ids';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { HealthResponseDto, SessionLivenessDto } from 'src/modules/system/dto/system-response.dto';
import { HealthQueryDto } from 'src/modules/system/dto/health-query.dto';
import { SessionLiveness, SessionsService } from 'src/modules/sessions/sessions.service';

const MAX_SESSION_IDS = 500;

/** What a session the caller may not read (or that does not exist) reports. */
const UNKNOWN: Omit<SessionLivenessDto, 'id'> = {
  runner_online: false,
  host_online: null,
  host_version: null,
};

@Injectable()
export class HealthService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jwt: JwtVerifierService,
    private readonly sessions: SessionsService,
  ) {}

  /**
   * `{status:"ok"}`, plus runner and host liveness for the sessions asked about, in upstream's
   * shape (`host_online` null for a session not on a host). The route is public, so liveness is only real for
   * sessions the caller may read (a valid token in jwt mode; everyone is the admin in none mode).
   * Every other id (another user's, unknown, malformed, or any id without a valid token) reads
   * the same: offline. Upstream says online for unknown ids; offline cannot mislead a client
   * into posting, and no answer tells whether someone else's session exists.
   */
  async health(req: IncomingMessage, query: HealthQueryDto): Promise<HealthResponseDto> {
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
    const caller = await this.caller(req);
    const online = caller
      ? await this.sessions.liveness(
          caller,
          [...canonical.values()].filter((id): id is string => id !== null),
        )
      : new Map<string, SessionLiveness>();
    const liveness = (raw: string): Omit<SessionLivenessDto, 'id'> => {
      const known = online.get(canonical.get(raw) ?? '');
      return known === undefined
        ? UNKNOWN
        : {
            runner_online: known.runnerOnline,
            host_online: known.hostOnline,
            host_version: known.hostVersion,
          };
    };
    return {
      status: 'ok',
      ...(single ? { session: { id: single, ...liveness(single) } } : {}),
      ...(many.length > 0
        ? { sessions: Object.fromEntries(many.map((id) => [id, liveness(id)])) }
        : {}),
    };
  }

  // Who may see real liveness. A missing or bad credential is no caller, not a 401: liveness
  // probes (load balancers, upstream's LocalServer) call /health without one.
  private async caller(req: IncomingMessage): Promise<AuthPrincipal | null> {
    if (this.config.auth.mode === 'none') {
      return LOCAL_PRINCIPAL;
    }
    if (!req.headers.authorization) {
      return null;
    }
    return this.jwt.authenticate(req).catch(() => null);
  }
}
