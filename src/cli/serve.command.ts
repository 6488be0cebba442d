import { CliCommand } from 'src/cli/cli-command';
import { getConfig } from 'src/config/app-config';
import { EmbeddedPostgresError } from 'src/database/embedded/embedded-postgres.errors';
import { findPostgresBinaries } from 'src/database/embedded/postgres-binaries';
import { startServer } from 'src/main';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Run the server (same as `npm start`)',
  usage:
    'omnigent serve\n\nConfigured through environment variables; see README.md "Configuration".',
  async run() {
    const config = getConfig();
    try {
      if (config.database.embedded) {
        // A platform without a binary gets one line (pointing at DATABASE_URL), not a stack.
        findPostgresBinaries();
      }
    } catch (error) {
      if (error instanceof EmbeddedPostgresError) {
        process.stderr.write(`omnigent serve: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
    await startServer(config);
  },
};
