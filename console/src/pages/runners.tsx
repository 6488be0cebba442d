import type { Runner } from '@omnigent-server/client';
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { describeError, type Host, isUnauthorized, listHosts } from '../api';
import type { PageProps } from '../app';

const REFRESH_MS = 10_000;

function harnessList(host: Host): string {
  const entries = Object.entries(host.configured_harnesses ?? {});
  if (entries.length === 0) {
    return 'none reported';
  }
  return entries
    .map(([name, usable]) =>
      usable === true ? name : `${name} (${usable === false ? 'not usable' : usable})`,
    )
    .join(', ');
}

export function RunnersPage({ client, onUnauthorized }: PageProps): JSX.Element {
  const [runners, setRunners] = useState<Runner[] | undefined>();
  const [hosts, setHosts] = useState<Host[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    const load = () => {
      Promise.all([client.runners.list(), listHosts(client)])
        .then(([runnerList, hostList]) => {
          setRunners(runnerList);
          setHosts(hostList);
          setError(undefined);
        })
        .catch((failure: unknown) =>
          isUnauthorized(failure) ? onUnauthorized(failure) : setError(describeError(failure)),
        );
    };
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [client]);

  return (
    <section>
      <h1>Runners and hosts</h1>
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
      <h2>Runners</h2>
      {runners === undefined ? (
        <p role="status">Loading…</p>
      ) : runners.length === 0 ? (
        <p>
          No runner has connected. Start one with <code>omnigent runner --server URL</code>.
        </p>
      ) : (
        <table>
          <caption class="visually-hidden">Runners</caption>
          <thead>
            <tr>
              <th scope="col">Runner</th>
              <th scope="col">State</th>
              <th scope="col">Harnesses</th>
            </tr>
          </thead>
          <tbody>
            {runners.map((runner) => (
              <tr key={runner.runner_id}>
                <td>
                  <code>{runner.runner_id}</code>
                </td>
                <td>
                  <span class={`status ${runner.online ? 'online' : 'offline'}`}>
                    {runner.online ? 'online' : 'offline'}
                  </span>
                </td>
                <td>{(runner.harnesses ?? []).join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Hosts</h2>
      {hosts === undefined ? (
        <p role="status">Loading…</p>
      ) : hosts.length === 0 ? (
        <p>
          No host daemon is registered. Start one with <code>node bin/omnigent.js host</code>.
        </p>
      ) : (
        <table>
          <caption class="visually-hidden">Hosts</caption>
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">State</th>
              <th scope="col">Harnesses</th>
            </tr>
          </thead>
          <tbody>
            {hosts.map((host) => (
              <tr key={host.host_id}>
                <td>
                  {host.name} <code>{host.host_id}</code>
                </td>
                <td>
                  <span class={`status ${host.status}`}>{host.status}</span>
                </td>
                <td>{harnessList(host)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
