import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { describeError, isUnauthorized } from '../api';
import type { PageProps } from '../app';
import { ApprovalsPanel } from '../components/approvals-panel';
import { FilesPanel } from '../components/files-panel';
import { Presence } from '../components/presence';
import { TranscriptView } from '../components/transcript-view';
import { Link } from '../router';
import { removeApproval } from '../transcript';
import { type Connection, useSession } from '../use-session';

const CONNECTION_LABEL: Record<Connection, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  closed: 'closed',
  failed: 'disconnected',
};

export function SessionPage(props: PageProps & { sessionId: string }): JSX.Element {
  const { client, sessionId, onUnauthorized } = props;
  const { session, transcript, setTranscript, connection, error, setError } = useSession(
    client,
    sessionId,
    onUnauthorized,
  );
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const [notice, setNotice] = useState<string | undefined>();
  const [answering, setAnswering] = useState<ReadonlySet<string>>(new Set());

  const fail = (failure: unknown) =>
    isUnauthorized(failure) ? onUnauthorized(failure) : setError(describeError(failure));

  const send = async () => {
    const message = text.trim();
    if (!message || sending) {
      return;
    }
    setSending(true);
    setNotice(undefined);
    try {
      const ack = (await client.sessions.send(sessionId, message)) as {
        denied?: boolean;
        reason?: string;
        elicitation_id?: string;
      };
      setText('');
      if (ack.denied) {
        setNotice(`Denied by policy${ack.reason ? `: ${ack.reason}` : ''}.`);
      } else if (ack.elicitation_id) {
        setNotice('This message waits for an approval before it runs.');
      }
    } catch (failure) {
      fail(failure);
    } finally {
      setSending(false);
    }
  };

  const interrupt = () => {
    client.sessions.interrupt(sessionId).catch(fail);
  };

  const answer = async (id: string, action: 'accept' | 'decline') => {
    setAnswering((current) => new Set(current).add(id));
    try {
      await client.sessions.resolveElicitation(sessionId, id, { action });
      setTranscript((state) => removeApproval(state, id));
    } catch (failure) {
      const status = (failure as { status?: number }).status;
      if (status === 409 || status === 404) {
        // Answered elsewhere or expired: it is not pending any more.
        setTranscript((state) => removeApproval(state, id));
      }
      fail(failure);
    } finally {
      setAnswering((current) => {
        const next = new Set(current);
        next.delete(id);
        return next;
      });
    }
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void send();
    }
  };

  const busy = transcript.status === 'running' || transcript.status === 'waiting';
  return (
    <div class="session-page">
      <section class="session-main" aria-labelledby="session-heading">
        <p class="crumbs">
          <Link to="/">Sessions</Link> /
        </p>
        <h1 id="session-heading">{session?.title || sessionId}</h1>
        <p class="meta" role="status" aria-live="polite">
          Status: <span class={`status ${transcript.status}`}>{transcript.status}</span> · stream{' '}
          <span class={`conn ${connection}`}>{CONNECTION_LABEL[connection]}</span>
        </p>
        {error ? (
          <p role="alert" class="error">
            {error}
          </p>
        ) : null}
        <ApprovalsPanel approvals={transcript.approvals} busy={answering} onAnswer={answer} />
        <TranscriptView transcript={transcript} />
        <form
          class="composer"
          onSubmit={(event) => {
            event.preventDefault();
            void send();
          }}
        >
          <label for="message">Message</label>
          <textarea
            id="message"
            name="message"
            rows={3}
            value={text}
            placeholder="Type a message; Enter sends, Shift+Enter adds a line"
            onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
            onKeyDown={onKeyDown}
          />
          <div class="actions">
            <button type="submit" disabled={sending || !text.trim()}>
              Send
            </button>
            <button type="button" class="secondary" disabled={!busy} onClick={interrupt}>
              Interrupt
            </button>
          </div>
          {notice ? (
            <p role="status" class="meta">
              {notice}
            </p>
          ) : null}
        </form>
      </section>
      <aside class="session-side" aria-label="Session details">
        <section class="card" aria-labelledby="details-heading">
          <h2 id="details-heading">Details</h2>
          <dl>
            <dt>Session</dt>
            <dd>
              <code>{sessionId}</code>
            </dd>
            <dt>Agent</dt>
            <dd>{session?.agent_name ?? session?.agent_id ?? '…'}</dd>
            <dt>Runner</dt>
            <dd>
              {session?.runner_id ? (
                <Presence id={session.runner_id} online={session.runner_online === true} />
              ) : (
                'none bound'
              )}
            </dd>
            <dt>Host</dt>
            <dd>
              {session?.host_id ? (
                <Presence id={session.host_id} online={session.host_online === true} />
              ) : (
                'none'
              )}
            </dd>
          </dl>
        </section>
        <FilesPanel client={client} sessionId={sessionId} version={transcript.filesChanged} />
      </aside>
    </div>
  );
}
