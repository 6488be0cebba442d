import { createPublicKey, JsonWebKey, KeyObject } from 'node:crypto';

import { Logger } from '@nestjs/common';

interface Jwk extends JsonWebKey {
  kid?: string;
  use?: string;
}

const CACHE_MAX_AGE_MS = 10 * 60_000;
const UNKNOWN_KID_COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;

/**
 * Public keys from an identity provider's JWKS. Keys are cached; an unknown `kid` triggers at most
 * one reload per cooldown so forged kids cannot hammer the IdP. Fails closed: no keys, no token.
 */
export class JwksKeyProvider {
  private readonly logger = new Logger('Jwks');
  private keys = new Map<string, KeyObject>();
  private loadedAt = 0;
  private lastReload = 0;
  private inflight?: Promise<void>;

  constructor(private readonly url: string) {
    const parsed = new URL(url);
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
    if (parsed.protocol !== 'https:' && !loopback) {
      throw new Error('OMNIGENT_JWKS_URL must use https (http is allowed only on loopback)');
    }
  }

  async getKey(kid: string | undefined): Promise<KeyObject> {
    const now = Date.now();
    if (now - this.loadedAt > CACHE_MAX_AGE_MS) {
      await this.reload();
    }
    let key = this.pick(kid);
    if (!key && now - this.lastReload > UNKNOWN_KID_COOLDOWN_MS) {
      await this.reload();
      key = this.pick(kid);
    }
    if (!key) {
      throw new Error(
        kid ? `no JWKS key with kid ${kid}` : 'token has no kid and the JWKS has several keys',
      );
    }
    return key;
  }

  private pick(kid: string | undefined): KeyObject | undefined {
    if (kid) {
      return this.keys.get(kid);
    }
    return this.keys.size === 1 ? [...this.keys.values()][0] : undefined;
  }

  private reload(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    this.lastReload = Date.now();
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok) {
        throw new Error(`HTTP ${res.status}`);
      }
      const body = (await res.json()) as { keys?: Jwk[] };
      const keys = new Map<string, KeyObject>();
      for (const [index, jwk] of (Array.isArray(body.keys) ? body.keys : []).entries()) {
        if ((jwk.use && jwk.use !== 'sig') || (jwk.kty !== 'RSA' && jwk.kty !== 'EC')) {
          continue;
        }
        try {
          keys.set(jwk.kid ?? `#${index}`, createPublicKey({ key: jwk, format: 'jwk' }));
        } catch (error) {
          // One bad key must not take the good ones down with it.
          this.logger.warn(
            `Ignoring JWKS key ${jwk.kid ?? `#${index}`}: ${(error as Error).message}`,
          );
        }
      }
      this.keys = keys;
      this.loadedAt = Date.now();
    } catch (error) {
      // Keep the keys we had and wait a cooldown before asking again, so an unreachable IdP
      // does not cost every request a fetch.
      this.loadedAt = Date.now() - CACHE_MAX_AGE_MS + UNKNOWN_KID_COOLDOWN_MS;
      this.logger.warn(`Could not load JWKS from ${this.url}: ${(error as Error).message}`);
    }
  }
}
