import type { JSX } from 'preact';

import type { Entry, Transcript } from '../transcript';

function EntryView({ entry }: { entry: Entry }): JSX.Element {
  switch (entry.kind) {
    case 'user':
      return (
        <li class="entry user">
          <span class="who">You</span>
          <p class="text">{entry.text}</p>
        </li>
      );
    case 'assistant':
      return (
        <li class="entry assistant">
          <span class="who">Agent</span>
          <p class="text">{entry.text}</p>
        </li>
      );
    case 'tool':
      return (
        <li class="entry tool">
          <details open>
            <summary>
              <span class="who">Tool call</span> <code>{entry.name}</code>
              {entry.output === undefined ? ' (running)' : ''}
            </summary>
            <h3 class="label">Arguments</h3>
            <pre class="args">{entry.args || '{}'}</pre>
            {entry.output === undefined && entry.progress ? (
              <>
                <h3 class="label">Progress</h3>
                <pre class="progress">{entry.progress}</pre>
              </>
            ) : null}
            {entry.output !== undefined ? (
              <>
                <h3 class="label">Output</h3>
                <pre class="output">{entry.output}</pre>
              </>
            ) : null}
          </details>
        </li>
      );
    case 'error':
      return (
        <li class="entry error-entry">
          <span class="who">Error</span>
          <p class="text">{entry.text}</p>
        </li>
      );
    case 'note':
      return (
        <li class="entry note">
          <p class="text">{entry.text}</p>
        </li>
      );
  }
}

/** The conversation; the reply being streamed is shown as it arrives. */
export function TranscriptView({ transcript }: { transcript: Transcript }): JSX.Element {
  return (
    <div role="log" aria-label="Transcript">
      <ol class="transcript">
        {transcript.entries.map((entry) => (
          <EntryView key={entry.id} entry={entry} />
        ))}
        {transcript.live ? (
          <li class="entry assistant live" aria-busy="true">
            <span class="who">Agent (typing)</span>
            <p class="text">{transcript.live}</p>
          </li>
        ) : null}
        {transcript.entries.length === 0 && !transcript.live ? (
          <li class="entry note">
            <p class="text">No messages yet. Say something below.</p>
          </li>
        ) : null}
      </ol>
    </div>
  );
}
