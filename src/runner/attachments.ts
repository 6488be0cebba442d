import { FlatItem } from 'src/protocol/items';
import { FileGetResult, Methods, Timeouts } from 'src/protocol/runner-protocol';
import type { TurnServices } from 'src/runner/turn-tools';

/** Text attachments larger than this reach the model cut, with a note. */
export const ATTACHMENT_TEXT_MAX_CHARS = 100_000;

const ATTACHMENT_TYPES = new Set(['input_file', 'input_image']);

function isTextType(mediaType: string): boolean {
  return (
    mediaType.startsWith('text/') ||
    [
      'application/json',
      'application/javascript',
      'application/jsonl',
      'application/x-ndjson',
      'application/x-ipynb+json',
    ].includes(mediaType)
  );
}

/**
 * Fetches the files user messages reference by `file_id` (`input_file` / `input_image`) with
 * `file.get` (spec/runner-protocol.md §5) and fills each block in, once per block: `filename`,
 * `media_type`, `file_data` (a data URL) and, for text, code and JSON, `text` — which is how
 * harnesses read attachments (a block's `text` joins the message text). A file the server does
 * not hand out (gone, too large) becomes a short note in `text` rather than failing the turn.
 */
export async function resolveAttachments(
  services: TurnServices,
  sessionId: string,
  history: FlatItem[],
): Promise<void> {
  for (const item of history) {
    if (item.type !== 'message' || item.role !== 'user' || !Array.isArray(item.content)) {
      continue;
    }
    for (const block of item.content as Record<string, unknown>[]) {
      if (
        !ATTACHMENT_TYPES.has(String(block?.type)) ||
        typeof block.file_id !== 'string' ||
        block.resolved !== undefined
      ) {
        continue;
      }
      try {
        const file = await services.request<FileGetResult>(
          Methods.fileGet,
          { session_id: sessionId, file_id: block.file_id },
          Timeouts.fileGetMs,
        );
        block.resolved = true;
        block.filename = file.name;
        block.media_type = file.media_type;
        block.file_data = `data:${file.media_type};base64,${file.base64}`;
        if (isTextType(file.media_type)) {
          const text = Buffer.from(file.base64, 'base64').toString('utf8');
          const cut = text.length > ATTACHMENT_TEXT_MAX_CHARS;
          block.text =
            `[file ${file.name}]\n${cut ? text.slice(0, ATTACHMENT_TEXT_MAX_CHARS) : text}` +
            (cut ? `\n[… cut at ${ATTACHMENT_TEXT_MAX_CHARS} characters]` : '');
        }
      } catch (error) {
        block.resolved = false;
        block.text = `[file ${block.file_id} is not available: ${(error as Error).message}]`;
        services.log(`Attachment ${block.file_id} of ${sessionId}: ${(error as Error).message}`);
      }
    }
  }
}
