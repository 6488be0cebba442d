import type { AuthPrincipal } from 'src/common/auth/auth-principal';

/** Longest a verified token is trusted without checking it again: JWKS rotation takes effect. */
export const TOKEN_CACHE_TTL_MS = 60_000;
/** Tokens remembered at once; the oldest entry goes first beyond this. */
export const TOKEN_CACHE_MAX_ENTRIES = 10_000;

interface Entry {
  principal: AuthPrincipal;
  expiresAt: number;
}

/**
 * Principals of Bearer tokens that passed verification, keyed by the raw token (issue 12: a
 * signature check per request showed in every route's profile). An entry lives until the
 * earliest of the token's `exp` (plus the clock tolerance the verifier grants) and
 * TOKEN_CACHE_TTL_MS after it was verified.
 */
export class TokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries = TOKEN_CACHE_MAX_ENTRIES,
    private readonly ttlMs = TOKEN_CACHE_TTL_MS,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(token: string, now = Date.now()): AuthPrincipal | undefined {
    const entry = this.entries.get(token);
    if (!entry) {
      return undefined;
    }
    if (entry.expiresAt <= now) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.principal;
  }

  /** `expSeconds` is the token's `exp` claim, `toleranceS` the clock skew the verifier allows. */
  set(
    token: string,
    principal: AuthPrincipal,
    expSeconds: number,
    toleranceS: number,
    now = Date.now(),
  ): void {
    const expiresAt = Math.min(now + this.ttlMs, (expSeconds + toleranceS) * 1000);
    if (expiresAt <= now) {
      return;
    }
    this.entries.delete(token);
    while (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(token, { principal, expiresAt });
  }
}
