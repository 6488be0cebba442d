import type { OmnigentClient } from '@omnigent-server/client';
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { describeError, downloadFile, type FileResource, listFiles, uploadFile } from '../api';

function size(bytes: number | undefined): string {
  if (bytes === undefined) {
    return '';
  }
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** The session's files: upload, download. `version` bumps when the stream says they changed. */
export function FilesPanel(props: {
  client: OmnigentClient;
  sessionId: string;
  version: number;
}): JSX.Element {
  const [files, setFiles] = useState<FileResource[] | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const refresh = () =>
    listFiles(props.client, props.sessionId)
      .then(setFiles)
      .catch((error: unknown) => setMessage(describeError(error)));

  useEffect(() => {
    void refresh();
  }, [props.client, props.sessionId, props.version]);

  const upload = async (event: Event) => {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) {
      return;
    }
    setBusy(true);
    setMessage(undefined);
    try {
      const stored = await uploadFile(props.client, props.sessionId, file);
      setMessage(`Uploaded ${stored.name}.`);
      input.value = '';
      await refresh();
    } catch (error) {
      setMessage(`Upload failed: ${describeError(error)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card files" aria-labelledby="files-heading">
      <h2 id="files-heading">Files</h2>
      <div class="field">
        <label for="upload-file">Upload a file</label>
        <input id="upload-file" type="file" name="file" disabled={busy} onChange={upload} />
      </div>
      {message ? (
        <p role="status" class="meta">
          {message}
        </p>
      ) : null}
      {files === undefined ? null : files.length === 0 ? (
        <p class="meta">No files.</p>
      ) : (
        <ul class="file-list">
          {files.map((file) => (
            <li key={file.id}>
              <span class="name">{file.name}</span>{' '}
              <span class="meta">{size(file.metadata.bytes)}</span>
              <button
                type="button"
                class="link"
                aria-label={`Download ${file.name}`}
                onClick={() =>
                  downloadFile(props.client, props.sessionId, file).catch((error: unknown) =>
                    setMessage(`Download failed: ${describeError(error)}`),
                  )
                }
              >
                Download
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
