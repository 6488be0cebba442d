import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
} from 'class-validator';

import { blankToUndefined, toBool, toInt } from 'src/config/env/env-coercion.util';
import { ServerEnvDto } from 'src/config/env/server-env.dto';

/** How callers authenticate: the auth mode, JWT/JWKS verification, admins, accepted Host names. */
export class AuthEnvDto extends ServerEnvDto {
  @IsIn(['none', 'jwt'])
  OMNIGENT_AUTH: 'none' | 'jwt' = 'none';

  /** Lets `none` auth bind a non-loopback address. Anyone who can reach it is the admin. */
  @Transform(toBool)
  @IsBoolean()
  OMNIGENT_ALLOW_REMOTE_NOAUTH = false;

  /**
   * HS256 secret (secret). Required in jwt mode unless OMNIGENT_JWKS_URL is set; whenever it is
   * set it must be at least 32 characters, since it signs tokens too.
   */
  @Transform(blankToUndefined)
  @ValidateBy({
    name: 'jwtSecret',
    validator: {
      validate: (value: unknown, args) => {
        const env = args?.object as AuthEnvDto;
        if (value === undefined) {
          return !(env.OMNIGENT_AUTH === 'jwt' && !env.OMNIGENT_JWKS_URL);
        }
        return typeof value === 'string' && value.length >= 32;
      },
      defaultMessage: (args) =>
        args?.value === undefined
          ? 'OMNIGENT_JWT_SECRET is required when OMNIGENT_AUTH=jwt and no JWKS URL is set'
          : 'OMNIGENT_JWT_SECRET must be at least 32 characters',
    },
  })
  OMNIGENT_JWT_SECRET?: string;

  /** JWKS endpoint for RS256/ES256 tokens from an identity provider. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['https', 'http'], require_protocol: true })
  OMNIGENT_JWKS_URL?: string;

  /** Algorithms accepted from the JWKS (comma-separated subset of RS256, PS256, ES256). */
  @Matches(/^(RS256|PS256|ES256)(,(RS256|PS256|ES256))*$/, {
    message: 'OMNIGENT_JWT_ALGORITHMS must be a comma-separated subset of RS256,PS256,ES256',
  })
  OMNIGENT_JWT_ALGORITHMS = 'RS256,ES256';

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  OMNIGENT_JWT_ISSUER?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  OMNIGENT_JWT_AUDIENCE?: string;

  /** Allowed clock skew for exp/nbf, in seconds (at most 60). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60)
  OMNIGENT_JWT_CLOCK_SKEW_S = 30;

  /** Claim that marks an admin (dotted path, e.g. realm_access.roles); holds ADMIN_VALUE or true. */
  @IsString()
  @MaxLength(200)
  OMNIGENT_ADMIN_CLAIM = 'roles';

  @IsString()
  OMNIGENT_ADMIN_VALUE = 'admin';

  /** Comma-separated user ids that are always admins. */
  @IsString()
  OMNIGENT_ADMINS = '';

  /** Extra Host names accepted in `none` mode besides localhost / 127.0.0.1 / [::1]. */
  @IsString()
  OMNIGENT_ALLOWED_HOSTS = '';
}
