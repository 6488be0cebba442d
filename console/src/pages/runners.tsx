import type { Runner } from '@omnigent-server/client';
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { describeError, type Host, isUnauthorized, listHosts } from '../api';
import type { PageProps } from '../app';
import { PresenceTable } from '../components/presence';

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
        <PresenceTable
          caption="Runners"
          rows={runners.map((runner) => ({
            key: runner.runner_id,
            name: <code>{runner.runner_id}</code>,
            online: runner.online,
            harnesses: (runner.harnesses ?? []).join(', ') || '—',
          }))}
        />
      )}
      <h2>Hosts</h2>
      {hosts === undefined ? (
        <p role="status">Loading…</p>
      ) : hosts.length === 0 ? (
        <p>
          No host daemon is registered. Start one with <code>node bin/omnigent.js host</code>.
        </p>
      ) : (
        <PresenceTable
          caption="Hosts"
          rows={hosts.map((host) => ({
            key: host.host_id,
            name: (
              <>
                {host.name} <code>{host.host_id}</code>
              </>
            ),
            online: host.status === 'online',
            harnesses: harnessList(host),
          }))}
        />
      )}
    </section>
  );
}
