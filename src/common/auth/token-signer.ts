import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';

import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';

export interface MintOptions {
  sub: string;
  ttlSeconds: number;
  admin?: boolean;
  extra?: Record<string, unknown>;
  audience?: string;
}

/** Parses `30s`, `15m`, `1h`, `7d` (or plain seconds). */
export function parseTtl(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) {
    throw new Error(`Invalid TTL '${value}': use a number with s, m, h or d (e.g. 1h)`);
  }
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds <= 0) {
    throw new Error('TTL must be positive');
  }
  return seconds;
}

/** Sets a dotted claim path (e.g. realm_access.roles) on a payload. */
function setClaim(payload: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let target = payload;
  for (const part of parts.slice(0, -1)) {
    target = (target[part] ??= {}) as Record<string, unknown>;
  }
  target[parts[parts.length - 1]] = value;
}

/** Mints HS256 tokens with the server's secret (`omnigent token`, runner tokens). */
export function mintToken(
  auth: AppConfig['auth'],
  options: MintOptions,
  jwt: JwtService = new JwtService(),
): { token: string; expiresAt: number } {
  if (!auth.jwtSecret) {
    throw new Error('OMNIGENT_JWT_SECRET is not set: there is no key to sign tokens with');
  }
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { ...options.extra, sub: options.sub, iat: now };
  if (options.admin) {
    setClaim(payload, auth.adminClaim, [auth.adminValue]);
  }
  const audience = options.audience ?? auth.audience;
  // jsonwebtoken (under JwtService) rejects issuer/audience options present but undefined.
  const token = jwt.sign(payload, {
    secret: auth.jwtSecret,
    algorithm: 'HS256',
    expiresIn: options.ttlSeconds,
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    ...(audience ? { audience } : {}),
  });
  return { token, expiresAt: now + options.ttlSeconds };
}

@Injectable()
export class TokenSigner {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jwt: JwtService,
  ) {}

  canSign(): boolean {
    return this.config.auth.mode === 'jwt' && Boolean(this.config.auth.jwtSecret);
  }

  mint(options: MintOptions): { token: string; expiresAt: number } {
    return mintToken(this.config.auth, options, this.jwt);
  }
}
