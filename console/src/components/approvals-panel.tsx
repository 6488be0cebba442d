import type { JSX } from 'preact';

import type { Approval } from '../transcript';

/** Pending policy questions, each with Accept / Decline. */
export function ApprovalsPanel(props: {
  approvals: Approval[];
  busy: ReadonlySet<string>;
  onAnswer: (id: string, action: 'accept' | 'decline') => void;
}): JSX.Element | null {
  if (props.approvals.length === 0) {
    return null;
  }
  return (
    <section class="card approvals" aria-labelledby="approvals-heading">
      <h2 id="approvals-heading">Waiting for your approval</h2>
      <ul>
        {props.approvals.map((approval) => (
          <li key={approval.id} class="approval">
            <p>
              {approval.message}
              {approval.policy ? <span class="meta"> (policy {approval.policy})</span> : null}
            </p>
            {approval.preview ? <pre>{approval.preview}</pre> : null}
            <div class="actions">
              <button
                type="button"
                disabled={props.busy.has(approval.id)}
                aria-label={`Accept: ${approval.message}`}
                onClick={() => props.onAnswer(approval.id, 'accept')}
              >
                Accept
              </button>
              <button
                type="button"
                class="secondary"
                disabled={props.busy.has(approval.id)}
                aria-label={`Decline: ${approval.message}`}
                onClick={() => props.onAnswer(approval.id, 'decline')}
              >
                Decline
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
