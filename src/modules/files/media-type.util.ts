/** Media types by extension: what a download is served as, and the fallback for mislabelled text. */
const BY_EXTENSION: Record<string, string> = {
  avif: 'image/avif',
  bmp: 'image/bmp',
  gif: 'image/gif',
  heic: 'image/heic',
  ico: 'image/x-icon',
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  png: 'image/png',
  svg: 'image/svg+xml',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  webp: 'image/webp',
  pdf: 'application/pdf',
  cjs: 'application/javascript',
  ipynb: 'application/x-ipynb+json',
  js: 'application/javascript',
  json: 'application/json',
  jsonl: 'application/jsonl',
  mjs: 'application/javascript',
  ndjson: 'application/x-ndjson',
  css: 'text/css',
  csv: 'text/csv',
  htm: 'text/html',
  html: 'text/html',
  markdown: 'text/markdown',
  md: 'text/markdown',
  tsv: 'text/tab-separated-values',
  txt: 'text/plain',
  xml: 'text/xml',
};

/** Source code and config files: served and accepted as text/plain. */
const CODE_EXTENSIONS = new Set([
  'bash',
  'c',
  'cc',
  'cfg',
  'conf',
  'cpp',
  'cs',
  'diff',
  'env',
  'go',
  'gradle',
  'h',
  'hpp',
  'ini',
  'java',
  'jsx',
  'kt',
  'log',
  'lua',
  'patch',
  'php',
  'pl',
  'proto',
  'py',
  'r',
  'rb',
  'rs',
  'rst',
  'scala',
  'sh',
  'sql',
  'swift',
  'tex',
  'toml',
  'ts',
  'tsx',
  'vue',
  'yaml',
  'yml',
  'zsh',
]);

const TEXT_APPLICATION_TYPES = new Set([
  'application/json',
  'application/javascript',
  'application/jsonl',
  'application/x-ndjson',
  'application/x-ipynb+json',
]);

export type FileKind = 'image' | 'pdf' | 'text';

/** The media type a filename suggests, or null. */
export function mediaTypeOfName(filename: string): string | null {
  const dot = filename.lastIndexOf('.');
  if (dot <= 0 || dot === filename.length - 1) {
    return null;
  }
  const ext = filename.slice(dot + 1).toLowerCase();
  return BY_EXTENSION[ext] ?? (CODE_EXTENSIONS.has(ext) ? 'text/plain' : null);
}

/** `Type/Sub; charset=…` → `type/sub`, or null for anything that is not a media type. */
export function normalizeMediaType(value: string | undefined | null): string | null {
  const type = (value ?? '').split(';')[0].trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type) ? type : null;
}

/** Which upload class a media type falls in (spec/api-reference.md §8.2), or null if refused. */
export function fileKindOf(type: string): FileKind | null {
  if (type.startsWith('image/')) {
    return 'image';
  }
  if (type === 'application/pdf') {
    return 'pdf';
  }
  if (type.startsWith('text/') || TEXT_APPLICATION_TYPES.has(type)) {
    return 'text';
  }
  return null;
}

/**
 * The media type an upload is stored as: the declared type when it is one we accept; otherwise
 * (missing, generic or a vendor type for code) the extension's, but only when that names text,
 * code or JSON — or anything at all when the client declared no type. Null means 415.
 */
export function resolveUploadType(
  declared: string | undefined,
  filename: string,
): { type: string; kind: FileKind } | null {
  const type = normalizeMediaType(declared);
  const declaredKind = type ? fileKindOf(type) : null;
  if (type && declaredKind) {
    return { type, kind: declaredKind };
  }
  const guessed = mediaTypeOfName(filename);
  const guessedKind = guessed ? fileKindOf(guessed) : null;
  if (!guessed || !guessedKind) {
    return null;
  }
  const undeclared = !type || type === 'application/octet-stream';
  if (guessedKind === 'text' || undeclared) {
    return { type: guessed, kind: guessedKind };
  }
  return null;
}

/**
 * The last path segment of a client's filename (either separator), without control characters;
 * null when nothing usable is left (empty, `.` or `..`).
 */
export function safeFilename(raw: string | undefined): string | null {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (clean === '' || clean === '.' || clean === '..') {
    return null;
  }
  return clean.slice(0, 255);
}

/** `Content-Disposition: attachment` with an ASCII fallback and the RFC 5987 UTF-8 name. */
export function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )}`;
}
