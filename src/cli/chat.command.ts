import { Command, Option } from 'commander';

import { CliError, ExitCode, load } from 'src/cli/cli-command';
import { serverOption, tokenOption } from 'src/cli/cli-env';

export interface ChatOptions {
  server?: string;
  token?: string;
  agent: string;
  session?: string;
  runner?: string;
}

export function chatCommand(): Command {
  return new Command('chat')
    .summary('Chat with an agent in the terminal (one message, or a prompt loop)')
    .description(
      'Chat with an agent. With MESSAGE: sends it, streams the reply and exits (1 if the turn ' +
        'failed). Without: a prompt loop; Ctrl-C interrupts a reply (twice, or at the prompt, ' +
        'quits with 130), Ctrl-D quits. A dropped stream is resumed where it stopped.',
    )
    .argument('[message...]', 'the message to send (quote it, or it is joined with spaces)')
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(new Option('--agent <name>', 'agent for a new session').default('echo'))
    .option('--session <id>', 'continue this session instead of creating one')
    .option('--runner <id>', 'runner to bind (default: your only online runner)')
    .action(async (words: string[], options: ChatOptions) => {
      const { runChat } = load<typeof import('src/cli/chat.action')>('src/cli/chat.action');
      const code = await runChat(options, words.join(' ').trim());
      if (code !== ExitCode.Ok) {
        throw new CliError('', code);
      }
    });
}
