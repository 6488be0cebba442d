import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';

import {
  AUTH_REQUIREMENT,
  AuthRequirement,
  RequestWithPrincipal,
} from 'src/common/auth/auth.decorators';
import { RequestAuthService } from 'src/common/auth/request-auth.service';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';

/**
 * The global guard (style rule 13). Denies by default: a route must declare @Public(),
 * @Authenticated() or @AdminOnly(); anything else is refused (and the auth meta-test fails).
 * Only authenticates: access to a resource is decided in services.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly auth: RequestAuthService,
    private readonly reflector: Reflector,
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
    await this.auth.authenticate(req, { admin: requirement === AuthRequirement.Admin });
    return true;
  }
}
