import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Command } from 'commander';

import { CliError, load } from 'src/cli/cli-command';

/** Writes openapi.json (committed); `--check` fails when the committed file is out of date. */
export function syncOpenApiCommand(): Command {
  return new Command('sync-openapi')
    .summary('Write (or --check) the committed openapi.json')
    .option('--check', 'fail (exit 1) when the committed openapi.json is out of date')
    .action(async (options: { check?: boolean }) => {
      load('reflect-metadata');
      const { createApplication } = load<typeof import('src/app.factory')>('src/app.factory');
      const { buildOpenApiDocument } = load<typeof import('src/common/openapi/swagger')>(
        'src/common/openapi/swagger',
      );
      const { getConfig, packageRoot } =
        load<typeof import('src/config/app-config')>('src/config/app-config');
      const config = getConfig({ OMNIGENT_LOG_LEVEL: 'error' });
      // Preview mode builds the module graph without instantiating providers: no database needed.
      const app = await createApplication(config, { preview: true });
      const document = buildOpenApiDocument(app, { ...config, version: '0.0.0' });
      const text = `${JSON.stringify(document, null, 2)}\n`;
      const target = join(packageRoot(), 'openapi.json');
      if (options.check) {
        let current = '';
        try {
          current = readFileSync(target, 'utf8');
        } catch {
          // missing counts as different
        }
        if (current !== text) {
          throw new CliError(
            'openapi.json is out of date: run `npm run openapi:sync` and commit it.',
          );
        }
        process.stdout.write('openapi.json is up to date\n');
        return;
      }
      writeFileSync(target, text);
      process.stdout.write(`wrote ${target}\n`);
    });
}
