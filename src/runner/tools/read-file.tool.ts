import { StringDecoder } from 'node:string_decoder';

import { READ_CHUNK_BYTES, ToolFs } from 'src/runner/sandbox/tool-fs';
import { BuiltinTool, ToolContext, withToolPath } from 'src/runner/tools/tool';
import { describeFsError } from 'src/runner/tools/workspace-path';

/** Output cap: a larger file must be read in pages with `offset`/`limit`. */
export const READ_FILE_MAX_BYTES = 256 * 1024;

// Same heuristic as git and grep: a NUL byte near the start means the file is not text.
const BINARY_SNIFF_BYTES = 8192;

function positiveInteger(value: unknown, name: string): number | string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    return `Error: ${name} must be a positive integer`;
  }
  return value;
}

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) {
    return text;
  }
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) {
    end--;
  }
  return bytes.subarray(0, end).toString('utf8');
}

interface Page {
  text: string;
  firstLine: number;
  lastLine: number;
  totalLines: number | null;
  binary: boolean;
  cappedBytes: boolean;
  moreLines: boolean;
}

/** Reads the file in chunks so a page from a huge file costs only what is read up to it. */
async function readPage(
  toolFs: ToolFs,
  file: string,
  offset: number,
  limit: number,
  signal: AbortSignal,
): Promise<Page> {
  const decoder = new StringDecoder('utf8');
  const page: Page = {
    text: '',
    firstLine: offset,
    lastLine: offset - 1,
    totalLines: null,
    binary: false,
    cappedBytes: false,
    moreLines: false,
  };
  let bytes = 0;
  let lineNumber = 0;
  let pending = '';
  let first = true;

  // Returns false once the page is full, which stops reading.
  const take = (line: string): boolean => {
    lineNumber++;
    if (lineNumber < offset) {
      return true;
    }
    if (lineNumber >= offset + limit) {
      page.moreLines = true;
      return false;
    }
    const size = Buffer.byteLength(line, 'utf8');
    if (bytes + size > READ_FILE_MAX_BYTES) {
      page.cappedBytes = true;
      // A single line over the cap is still shown in part, otherwise the model could never see it.
      if (page.lastLine < page.firstLine) {
        page.text = truncateUtf8(line, READ_FILE_MAX_BYTES);
        page.lastLine = lineNumber;
      }
      return false;
    }
    bytes += size;
    page.text += line;
    page.lastLine = lineNumber;
    return true;
  };

  let position = 0;
  for (;;) {
    signal.throwIfAborted();
    const chunk = await toolFs.read(file, position, READ_CHUNK_BYTES);
    if (chunk.length === 0) {
      break;
    }
    position += chunk.length;
    if (first) {
      first = false;
      if (chunk.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
        page.binary = true;
        return page;
      }
    }
    pending += decoder.write(chunk);
    let start = 0;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      if (!take(pending.slice(start, newline + 1))) {
        return page;
      }
      start = newline + 1;
      newline = pending.indexOf('\n', start);
    }
    pending = pending.slice(start);
  }
  pending += decoder.end();
  if (pending !== '' && !take(pending)) {
    return page;
  }
  page.totalLines = lineNumber;
  return page;
}

async function execute(args: Record<string, unknown>, context: ToolContext): Promise<string> {
  const requested = args.path;
  if (typeof requested !== 'string' || requested === '') {
    return 'Error: path is required and must be a string';
  }
  const offset = positiveInteger(args.offset, 'offset') ?? 1;
  const limit = positiveInteger(args.limit, 'limit') ?? Number.MAX_SAFE_INTEGER;
  if (typeof offset === 'string') {
    return offset;
  }
  if (typeof limit === 'string') {
    return limit;
  }
  const page = await withToolPath(context, requested, async (toolFs, file) => {
    try {
      const stat = await toolFs.stat(file);
      if (stat.type === 'dir') {
        return `Error: '${requested}' is a directory; use list_dir to see its entries`;
      }
      return await readPage(toolFs, file, offset, limit, context.signal);
    } catch (error) {
      if (context.signal.aborted) {
        throw error;
      }
      return `Error: ${describeFsError(error, requested)}`;
    }
  });
  if (typeof page === 'string') {
    return page;
  }
  if (page.binary) {
    return `Error: '${requested}' is a binary file and cannot be shown as text`;
  }
  if (page.totalLines !== null && offset > 1 && offset > page.totalLines) {
    return `Error: offset ${offset} is past the end of '${requested}' (${page.totalLines} lines)`;
  }
  const next = page.lastLine + 1;
  if (page.cappedBytes) {
    return (
      `${page.text}\n[output truncated at ${READ_FILE_MAX_BYTES / 1024} KiB after line ` +
      `${page.lastLine}; read on with offset=${next}]`
    );
  }
  if (page.moreLines) {
    return (
      `${page.text}\n[showing lines ${page.firstLine}-${page.lastLine}; ` +
      `more lines follow, read on with offset=${next}]`
    );
  }
  return page.text;
}

export const readFileTool: BuiltinTool = {
  name: 'read_file',
  description:
    'Read a text file in the workspace. Returns the file content exactly; with offset/limit it ' +
    `returns only those lines. Output is capped at ${READ_FILE_MAX_BYTES / 1024} KiB; a note at ` +
    'the end says where to continue. Binary files are refused.',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'File to read, relative to the workspace root.' },
      offset: {
        type: 'integer',
        minimum: 1,
        description: 'First line to return (1-based). Defaults to 1.',
      },
      limit: {
        type: 'integer',
        minimum: 1,
        description: 'Maximum number of lines to return. Defaults to the whole file.',
      },
    },
    required: ['path'],
    additionalProperties: false,
  },
  execute,
};
