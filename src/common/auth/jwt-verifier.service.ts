import { IncomingMessage } from 'node:http';

import { Inject, Injectable, Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { JwtPayload } from 'jsonwebtoken';
import { Authenticator } from 'passport';
import { ExtractJwt, Strategy, StrategyOptionsWithoutRequest } from 'passport-jwt';

import { AuthPrincipal, RESERVED_USER_IDS } from 'src/common/auth/auth-principal';
import { jwksKeyProvider } from 'src/common/auth/jwks-key.provider';
import { TokenCache } from 'src/common/auth/token-cache.util';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';

/** Audience of runner tokens minted by `POST /v1/runners/{id}/token`. */
export const RUNNER_TOKEN_AUDIENCE = 'omnigent-runner';
const MAX_TOKEN_BYTES = 8 * 1024;
const EXTRACT_BEARER = ExtractJwt.fromAuthHeaderAsBearerToken();

export interface TokenClaims extends JwtPayload {
  typ?: string;
  runner_id?: string;
}

/**
 * Verifies Bearer JWTs with passport-jwt (spec/auth.md §5.2). Each key source pins its own
 * algorithms: the HS256 secret accepts only HS256, the JWKS only RS/PS/ES, so a token's `alg`
 * header can never pick the family. Strategies live in a private passport `Authenticator`, not
 * the global one `@nestjs/passport` registers into, so several apps with different keys can live
 * in one process (the e2e suite does). Runner tokens (our own HS256) go through `JwtService`.
 */
@Injectable()
export class JwtVerifierService {
  private readonly logger = new Logger('Auth');
  // A private authenticator with named strategies: passport then runs a fresh copy of the
  // strategy per request. (Passing shared instances lets concurrent requests, e.g. during an
  // async JWKS fetch, receive each other's results.)
  private readonly passport = new Authenticator();
  private readonly strategies: string[] = [];
  private readonly verified = new TokenCache();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jwtService: JwtService,
  ) {
    const { auth } = config;
    const common = {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      issuer: auth.issuer,
      audience: auth.audience,
      jsonWebTokenOptions: { clockTolerance: auth.clockSkewS },
    };
    const verify = (
      payload: TokenClaims,
      done: (err: unknown, user?: unknown, info?: unknown) => void,
    ) => {
      const problem = this.claimProblem(payload);
      return problem ? done(null, false, new Error(problem)) : done(null, payload);
    };
    if (auth.jwtSecret) {
      this.strategies.push('jwt-hs');
      this.passport.use(
        'jwt-hs',
        new Strategy(
          {
            ...common,
            secretOrKey: auth.jwtSecret,
            algorithms: ['HS256'],
          } as StrategyOptionsWithoutRequest,
          verify,
        ),
      );
    }
    if (auth.jwksUrl) {
      this.strategies.push('jwt-jwks');
      this.passport.use(
        'jwt-jwks',
        new Strategy(
          {
            ...common,
            algorithms: auth.jwksAlgorithms,
            secretOrKeyProvider: jwksKeyProvider(auth.jwksUrl),
          } as StrategyOptionsWithoutRequest,
          verify,
        ),
      );
    }
  }

  /**
   * Authenticates a request by its Bearer token; throws 401 (or 403 for runner tokens). A user
   * token verified in the last minute is not verified again (TokenCache).
   */
  async authenticate(req: IncomingMessage): Promise<AuthPrincipal> {
    const raw = EXTRACT_BEARER(req as never);
    const cached = raw ? this.verified.get(raw) : undefined;
    if (cached) {
      return cached;
    }
    // Runner tokens carry their own audience: recognise them first so they get a clear 403.
    const claims = this.verifyRunnerToken(req) ?? (await this.verifyRequest(req));
    if (claims.typ === 'runner') {
      throw new DomainError(
        ErrorCode.Forbidden,
        'Runner tokens are only accepted on the runner channel',
      );
    }
    const principal = this.toPrincipal(claims);
    if (raw) {
      this.verified.set(raw, principal, claims.exp as number, this.config.auth.clockSkewS);
    }
    return principal;
  }

  /** Verifies the Bearer token of a request and returns its claims; throws 401. */
  async verifyRequest(req: IncomingMessage): Promise<TokenClaims> {
    const header = req.headers.authorization;
    if (!header) {
      throw this.unauthorized('missing Authorization header');
    }
    if (header.length > MAX_TOKEN_BYTES) {
      throw this.unauthorized('token too large');
    }
    if (this.strategies.length === 0) {
      throw this.unauthorized('no JWT key source configured');
    }
    return new Promise<TokenClaims>((resolve, reject) => {
      const handler = this.passport.authenticate(
        this.strategies,
        { session: false },
        (err: unknown, claims: TokenClaims | false, info: unknown) => {
          if (err || !claims) {
            reject(this.unauthorized(this.reason(err ?? info)));
            return;
          }
          resolve(claims);
        },
      ) as (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
      handler(req, {}, (err?: unknown) => reject(this.unauthorized(this.reason(err))));
    });
  }

  /**
   * Verifies a runner token (minted by `POST /v1/runners/{id}/token`): HS256 with our secret and
   * the runner audience, whatever audience user tokens carry. Returns null when the Bearer token
   * is not one (then it is checked as a user token).
   */
  verifyRunnerToken(req: IncomingMessage): TokenClaims | null {
    const raw = EXTRACT_BEARER(req as never);
    const unverified = raw ? this.safeDecode(raw) : null;
    if (!raw || unverified?.typ !== 'runner') {
      return null;
    }
    const { jwtSecret, issuer, clockSkewS } = this.config.auth;
    if (!jwtSecret || raw.length > MAX_TOKEN_BYTES) {
      throw this.unauthorized('runner token cannot be verified');
    }
    try {
      const claims = this.jwtService.verify<TokenClaims>(raw, {
        secret: jwtSecret,
        algorithms: ['HS256'],
        audience: RUNNER_TOKEN_AUDIENCE,
        issuer,
        clockTolerance: clockSkewS,
      });
      const problem = this.claimProblem(claims);
      if (problem) {
        throw new Error(problem);
      }
      return claims;
    } catch (error) {
      throw this.unauthorized((error as Error).message);
    }
  }

  toPrincipal(claims: TokenClaims): AuthPrincipal {
    const userId = claims.sub as string;
    return {
      kind: claims.typ === 'runner' ? 'runner' : 'user',
      userId,
      isAdmin: claims.typ !== 'runner' && this.isAdmin(claims),
      runnerId: claims.typ === 'runner' ? claims.runner_id : undefined,
    };
  }

  private isAdmin(claims: TokenClaims): boolean {
    const { adminClaim, adminValue, admins } = this.config.auth;
    if (admins.includes(claims.sub as string)) {
      return true;
    }
    let value: unknown = claims;
    for (const part of adminClaim.split('.')) {
      value =
        value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    }
    if (Array.isArray(value)) {
      return value.includes(adminValue);
    }
    if (typeof value === 'string') {
      return value.split(' ').includes(adminValue);
    }
    return value === true;
  }

  private claimProblem(claims: TokenClaims): string | null {
    if (typeof claims.exp !== 'number') {
      return 'token has no exp claim';
    }
    if (typeof claims.iat !== 'number') {
      return 'token has no iat claim';
    }
    const sub = claims.sub;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) {
      return 'token sub must be a non-empty string of at most 256 characters';
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(sub)) {
      return 'token sub contains control characters';
    }
    if (RESERVED_USER_IDS.includes(sub)) {
      return `token sub '${sub}' is reserved`;
    }
    if (claims.typ === 'runner' && typeof claims.runner_id !== 'string') {
      return 'runner token has no runner_id';
    }
    return null;
  }

  private reason(info: unknown): string {
    if (Array.isArray(info)) {
      return info.map((i) => this.reason(i)).join('; ');
    }
    return info instanceof Error ? info.message : String(info ?? 'invalid token');
  }

  /** The unverified claims, or null when the token cannot even be decoded. */
  private safeDecode(raw: string): TokenClaims | null {
    try {
      const decoded: unknown = this.jwtService.decode(raw);
      return decoded && typeof decoded === 'object' ? (decoded as TokenClaims) : null;
    } catch {
      return null;
    }
  }

  private unauthorized(reason: string): DomainError {
    // The reason goes to the log only: the client learns nothing about which check failed.
    this.logger.debug(`Rejected credential: ${reason}`);
    return new DomainError(ErrorCode.Unauthorized, 'Authentication required');
  }
}
