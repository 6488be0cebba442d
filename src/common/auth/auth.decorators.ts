import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';

import { AuthPrincipal } from 'src/common/auth/auth-principal';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';

export enum AuthRequirement {
  Public = 'public',
  Authenticated = 'authenticated',
  Admin = 'admin',
  /** A machine credential (e.g. a runner binding token) the service itself verifies. */
  Machine = 'machine',
}

export const AUTH_REQUIREMENT = 'omnigent:auth-requirement';

/** No credential needed. Only for /health, /api/version, /openapi.json, /docs and /v1/info. */
export const Public = () => SetMetadata(AUTH_REQUIREMENT, AuthRequirement.Public);

/** Any authenticated user (resource checks happen in services). */
export const Authenticated = () =>
  applyDecorators(
    SetMetadata(AUTH_REQUIREMENT, AuthRequirement.Authenticated),
    ApiBearerAuth(),
    ApiErrors(401),
  );

/** Server admins only: 401 without a credential, 403 for other users. */
export const AdminOnly = () =>
  applyDecorators(
    SetMetadata(AUTH_REQUIREMENT, AuthRequirement.Admin),
    ApiBearerAuth(),
    ApiErrors(401, [403, 'The caller is not an admin.']),
  );

/**
 * The route authenticates with a machine credential in a header (a runner binding token), which
 * its service verifies and answers 401 for; no user token is involved.
 */
export const MachineCredential = (header: string) =>
  applyDecorators(
    SetMetadata(AUTH_REQUIREMENT, AuthRequirement.Machine),
    ApiErrors([401, `Missing or invalid ${header} header.`]),
  );

export interface RequestWithPrincipal {
  principal?: AuthPrincipal;
}

/** The caller. Fails loudly if the guard did not run, rather than acting as nobody. */
export const Auth = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthPrincipal => {
  const principal = ctx.switchToHttp().getRequest<RequestWithPrincipal>().principal;
  if (!principal) {
    throw new Error('@Auth() used on a route the AuthGuard did not authenticate');
  }
  return principal;
});
