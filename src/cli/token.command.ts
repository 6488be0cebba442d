import { Command, Option } from 'commander';

import { CliError, load, UsageError } from 'src/cli/cli-command';
import { parseDuration } from 'src/cli/duration.util';

interface TokenOptions {
  sub?: string;
  admin?: boolean;
  ttl: string;
}

export function tokenCommand(): Command {
  return new Command('token')
    .summary('Mint a JWT for local use, signed with OMNIGENT_JWT_SECRET')
    .description(
      'Mint an HS256 JWT for local use, signed with OMNIGENT_JWT_SECRET (≥ 32 characters) and ' +
        'carrying OMNIGENT_JWT_ISSUER / OMNIGENT_JWT_AUDIENCE when those are set.',
    )
    .addOption(new Option('--sub <user>', 'the user id the token is for (required)'))
    .option('--admin', 'make the user an admin', false)
    .addOption(
      new Option('--ttl <duration>', 'lifetime with a unit: 30m, 12h, 7d (at most 365d)').default(
        '1h',
      ),
    )
    .action((options: TokenOptions) => {
      if (!options.sub) {
        throw new UsageError('--sub is required');
      }
      const ttlSeconds = parseDuration(options.ttl);
      load('reflect-metadata');
      const { RESERVED_USER_IDS } = load<typeof import('src/common/auth/auth-principal')>(
        'src/common/auth/auth-principal',
      );
      if (RESERVED_USER_IDS.includes(options.sub)) {
        throw new UsageError(`'${options.sub}' is a reserved user id`);
      }
      const { getConfig } = load<typeof import('src/config/app-config')>('src/config/app-config');
      const config = getConfig();
      if (!config.auth.jwtSecret) {
        throw new CliError(
          "OMNIGENT_JWT_SECRET is not set: there is no key to sign tokens with (set it to the server's secret, ≥ 32 characters)",
        );
      }
      const { mintToken } = load<typeof import('src/common/auth/token-signer')>(
        'src/common/auth/token-signer',
      );
      const { token } = mintToken(config.auth, {
        sub: options.sub,
        admin: options.admin === true,
        ttlSeconds,
      });
      process.stdout.write(`${token}\n`);
    });
}
