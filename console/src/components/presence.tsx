import type { JSX } from 'preact';

/** An id with its online/offline state. */
export function Presence(props: { id: string; online: boolean }): JSX.Element {
  return (
    <>
      <code>{props.id}</code>{' '}
      <span class={`status ${props.online ? 'online' : 'offline'}`}>
        {props.online ? 'online' : 'offline'}
      </span>
    </>
  );
}

export interface PresenceRow {
  key: string;
  name: JSX.Element | string;
  online: boolean;
  harnesses: string;
}

/** Runners or hosts: who is online, with their harnesses. */
export function PresenceTable(props: { caption: string; rows: PresenceRow[] }): JSX.Element {
  return (
    <table>
      <caption class="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{props.caption.replace(/s$/, '')}</th>
          <th scope="col">State</th>
          <th scope="col">Harnesses</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr key={row.key}>
            <td>{row.name}</td>
            <td>
              <span class={`status ${row.online ? 'online' : 'offline'}`}>
                {row.online ? 'online' : 'offline'}
              </span>
            </td>
            <td>{row.harnesses}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
