/** Reserved ids that no token may claim (spec/auth.md §2.2). */
export const LOCAL_USER_ID = 'local';
export const PUBLIC_USER_ID = '__public__';
export const RESERVED_USER_IDS: readonly string[] = [LOCAL_USER_ID, PUBLIC_USER_ID];

/** Who is calling. Attached to the request by the global AuthGuard. */
export interface AuthPrincipal {
  kind: 'user' | 'local' | 'runner';
  /** The user id grants and ownership are keyed by (a JWT `sub`, or `local`). */
  userId: string;
  isAdmin: boolean;
  /** Only for runner tokens minted by `POST /v1/runners/{id}/token`. */
  runnerId?: string;
}

export const LOCAL_PRINCIPAL: AuthPrincipal = Object.freeze({
  kind: 'local',
  userId: LOCAL_USER_ID,
  isAdmin: true,
}) as AuthPrincipal;
