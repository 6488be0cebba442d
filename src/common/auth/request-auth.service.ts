import { IncomingMessage } from 'node:http';

import { Inject, Injectable } from '@nestjs/common';

import { AuthPrincipal, LOCAL_PRINCIPAL } from 'src/common/auth/auth-principal';
import type { RequestWithPrincipal } from 'src/common/auth/auth.decorators';
import { JwtVerifierService } from 'src/common/auth/jwt-verifier.service';
import { assertLocalCaller } from 'src/common/auth/local-origin';
import { UsersService } from 'src/common/auth/users.service';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';

/**
 * Who sent an HTTP request, in the active auth mode: the one check behind `AuthGuard` and the
 * fast lane of the hot reads (issue 12). Sets `req.principal` and records the user as seen.
 */
@Injectable()
export class RequestAuthService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jwt: JwtVerifierService,
    private readonly users: UsersService,
  ) {}

  /** Throws 401 (no or bad credential) or 403 (runner token, cross-site, or not an admin). */
  async authenticate(
    req: IncomingMessage & RequestWithPrincipal,
    options: { admin: boolean },
  ): Promise<AuthPrincipal> {
    const principal =
      this.config.auth.mode === 'none'
        ? this.localPrincipal(req)
        : await this.jwt.authenticate(req);
    if (options.admin && !principal.isAdmin) {
      throw new DomainError(ErrorCode.Forbidden, 'Admin privileges required');
    }
    req.principal = principal;
    await this.users.touch(principal);
    return principal;
  }

  /**
   * `none` mode trusts every caller as the local admin, so it must only be reachable from this
   * machine: browsers on other sites (Origin) and DNS rebinding (Host) are refused.
   */
  private localPrincipal(req: IncomingMessage): AuthPrincipal {
    assertLocalCaller(req.headers, this.config, { checkHost: true, kind: 'request' });
    return LOCAL_PRINCIPAL;
  }
}
