import { parseArgs } from 'node:util';

import { CliCommand, UsageError } from 'src/cli/cli-command';
import { mintToken, parseTtl } from 'src/common/auth/token-signer';
import { RESERVED_USER_IDS } from 'src/common/auth/auth-principal';
import { getConfig } from 'src/config/app-config';

export const tokenCommand: CliCommand = {
  name: 'token',
  summary: 'Mint a JWT for local use, signed with OMNIGENT_JWT_SECRET',
  usage: 'omnigent token --sub USER [--admin] [--ttl 1h]',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        sub: { type: 'string' },
        admin: { type: 'boolean', default: false },
        ttl: { type: 'string', default: '1h' },
      },
    });
    if (!values.sub) {
      throw new UsageError('--sub is required');
    }
    if (RESERVED_USER_IDS.includes(values.sub)) {
      throw new UsageError(`'${values.sub}' is a reserved user id`);
    }
    const config = getConfig();
    const { token } = mintToken(config.auth, {
      sub: values.sub,
      admin: values.admin,
      ttlSeconds: parseTtl(values.ttl),
    });
    process.stdout.write(`${token}\n`);
  },
};
