import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CliCommand } from 'src/cli/cli-command';
import { createApplication } from 'src/app.factory';
import { buildOpenApiDocument } from 'src/common/openapi/swagger';
import { getConfig, packageRoot } from 'src/config/app-config';

/** Writes openapi.json (committed); `--check` fails when the committed file is out of date. */
export const syncOpenApiCommand: CliCommand = {
  name: 'sync-openapi',
  summary: 'Write (or --check) the committed openapi.json',
  usage: 'omnigent sync-openapi [--check]',
  async run(args) {
    const config = getConfig({ OMNIGENT_LOG_LEVEL: 'error' });
    // Preview mode builds the module graph without instantiating providers: no database needed.
    const app = await createApplication(config, { preview: true });
    const document = buildOpenApiDocument(app, { ...config, version: '0.0.0' });
    const text = `${JSON.stringify(document, null, 2)}\n`;
    const target = join(packageRoot(), 'openapi.json');
    if (args.includes('--check')) {
      let current = '';
      try {
        current = readFileSync(target, 'utf8');
      } catch {
        // missing counts as different
      }
      if (current !== text) {
        process.stderr.write(
          'openapi.json is out of date: run `npm run openapi:sync` and commit it.\n',
        );
        return 1;
      }
      process.stdout.write('openapi.json is up to date\n');
      return 0;
    }
    writeFileSync(target, text);
    process.stdout.write(`wrote ${target}\n`);
    return 0;
  },
};
