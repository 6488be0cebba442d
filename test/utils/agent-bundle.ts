import { gzipSync } from 'node:zlib';

import { pack } from 'tar-stream';

export interface BundleEntry {
  name: string;
  content?: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
}

/** An uncompressed tar of the entries, names written exactly as given (`../x` included). */
export async function tarOf(entries: BundleEntry[]): Promise<Buffer> {
  const archive = pack();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    if (type === 'file') {
      archive.entry({ name: entry.name, type }, entry.content ?? '');
    } else {
      archive.entry({ name: entry.name, type, linkname: entry.linkname });
    }
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A `.tar.gz` agent bundle of the entries. */
export async function bundleOf(entries: BundleEntry[]): Promise<Buffer> {
  return gzipSync(await tarOf(entries));
}

/** `config.yaml` of an echo-harness agent whose instructions live in `instructions.md`. */
export function echoAgentConfig(name: string): string {
  return [
    `name: ${name}`,
    'description: Uploaded by an e2e test',
    'instructions: instructions.md',
    'executor:',
    '  harness: echo',
    'os_env: { type: caller_process }',
    'tools: [list_dir, read_file]',
    '',
  ].join('\n');
}

/** A valid bundle: config.yaml plus the instructions file it references. */
export function echoAgentBundle(name: string): Promise<Buffer> {
  return bundleOf([
    { name: 'config.yaml', content: echoAgentConfig(name) },
    { name: 'instructions.md', content: `# ${name}\n\nRepeat what the user says.\n` },
  ]);
}
