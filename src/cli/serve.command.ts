import { CliCommand } from 'src/cli/cli-command';
import { getConfig } from 'src/config/app-config';
import { startServer } from 'src/main';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Run the server (same as `npm start`)',
  usage:
    'omnigent serve\n\nConfigured through environment variables; see README.md "Configuration".',
  async run() {
    await startServer(getConfig());
  },
};
