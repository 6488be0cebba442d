import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';

import { LOCAL_PRINCIPAL } from 'src/common/auth/auth-principal';
import {
  AUTH_REQUIREMENT,
  AuthRequirement,
  RequestWithPrincipal,
} from 'src/common/auth/auth.decorators';
import { assertLocalCaller } from 'src/common/auth/local-origin';
import { JwtVerifierService } from 'src/common/auth/jwt-verifier.service';
import { UsersService } from 'src/common/auth/users.service';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';

/**
 * The global guard (style rule 13). Denies by default: a route must declare @Public(),
 * @Authenticated() or @AdminOnly(); anything else is refused (and the auth meta-test fails).
 * Only authenticates: access to a resource is decided in services.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reflector: Reflector,
    private readonly jwt: JwtVerifierService,
    private readonly users: UsersService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') {
      return false;
    }
    const requirement = this.reflector.getAllAndOverride<AuthRequirement | undefined>(
      AUTH_REQUIREMENT,
      [context.getHandler(), context.getClass()],
    );
    if (requirement === AuthRequirement.Public || requirement === AuthRequirement.Machine) {
      return true;
    }
    if (!requirement) {
      throw new DomainError(ErrorCode.Forbidden, 'This route declares no access rule');
    }
    const req = context.switchToHttp().getRequest<Request & RequestWithPrincipal>();
    const principal =
      this.config.auth.mode === 'none'
        ? this.localPrincipal(req)
        : await this.jwt.authenticate(req);
    if (requirement === AuthRequirement.Admin && !principal.isAdmin) {
      throw new DomainError(ErrorCode.Forbidden, 'Admin privileges required');
    }
    req.principal = principal;
    await this.users.touch(principal);
    return true;
  }

  /**
   * `none` mode trusts every caller as the local admin, so it must only be reachable from this
   * machine: browsers on other sites (Origin) and DNS rebinding (Host) are refused.
   */
  private localPrincipal(req: Request) {
    assertLocalCaller(req.headers, this.config, { checkHost: true, kind: 'request' });
    return LOCAL_PRINCIPAL;
  }
}
