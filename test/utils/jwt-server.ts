import { randomBytes } from 'node:crypto';

import { mintToken } from 'src/common/auth/token-signer';
import { getConfig } from 'src/config/app-config';
import { ServerProcess, startServer } from 'test/utils/processes';

export interface JwtServer {
  server: ServerProcess;
  /** A token for a new user whose id starts with `prefix` (unique on the shared database). */
  newUserToken(prefix: string): string;
}

/** `omnigent serve` in `jwt` mode on the shared, migrated test database (plus `env`). */
export async function startJwtServer(
  secret: string,
  env: Record<string, string> = {},
): Promise<JwtServer> {
  const server = await startServer({
    DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
    OMNIGENT_DB_MIGRATE: 'false',
    OMNIGENT_AUTH: 'jwt',
    OMNIGENT_JWT_SECRET: secret,
    ...env,
  });
  const auth = getConfig({ OMNIGENT_AUTH: 'jwt', OMNIGENT_JWT_SECRET: secret }).auth;
  return {
    server,
    newUserToken: (prefix) =>
      mintToken(auth, { sub: `${prefix}-${randomBytes(4).toString('hex')}`, ttlSeconds: 3600 })
        .token,
  };
}
