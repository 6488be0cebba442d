import type { Agent, Runner, SessionList } from '@omnigent-server/client';
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { describeError, isUnauthorized } from '../api';
import type { PageProps } from '../app';
import { formatTime } from '../format';
import { Link, navigate } from '../router';

const PAGE_SIZE = 20;

function AgentOptions({ agents }: { agents: Agent[] }): JSX.Element {
  return (
    <>
      {agents.map((agent) => (
        <option key={agent.id} value={agent.id}>
          {agent.name}
        </option>
      ))}
    </>
  );
}

export function SessionsPage({ client, onUnauthorized }: PageProps): JSX.Element {
  const [agents, setAgents] = useState<Agent[]>([]);
  const [runners, setRunners] = useState<Runner[]>([]);
  const [search, setSearch] = useState('');
  const [agentFilter, setAgentFilter] = useState('');
  const [archived, setArchived] = useState(false);
  // Cursor paging: `cursors[i]` is the `after` of page i (undefined for the first).
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<SessionList | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [newAgent, setNewAgent] = useState('');
  const [newRunner, setNewRunner] = useState('');
  const [newTitle, setNewTitle] = useState('');
  const [creating, setCreating] = useState(false);

  const fail = (failure: unknown) =>
    isUnauthorized(failure) ? onUnauthorized(failure) : setError(describeError(failure));

  useEffect(() => {
    client.agents
      .list()
      .then((list) => {
        setAgents(list);
        setNewAgent(
          (current) => current || (list.find((a) => a.name === 'echo') ?? list[0])?.id || '',
        );
      })
      .catch(fail);
    client.runners
      .list()
      .then((list) => {
        const online = list.filter((r) => r.online);
        setRunners(online);
        setNewRunner((current) => current || online[0]?.runner_id || '');
      })
      .catch(fail);
  }, [client]);

  const after = cursors[cursors.length - 1];
  useEffect(() => {
    let stale = false;
    const timer = setTimeout(() => {
      client.sessions
        .list({
          limit: PAGE_SIZE,
          after,
          search_query: search.trim() || undefined,
          agent_id: agentFilter || undefined,
          include_archived: archived || undefined,
        })
        .then((list) => {
          if (!stale) {
            setPage(list);
            setError(undefined);
          }
        })
        .catch((failure: unknown) => !stale && fail(failure));
    }, 150);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [client, after, search, agentFilter, archived]);

  // A new filter starts again from the first page.
  const refilter =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setCursors([undefined]);
    };

  const create = async (event: Event) => {
    event.preventDefault();
    if (!newAgent) {
      setError('Pick an agent first.');
      return;
    }
    setCreating(true);
    try {
      let session = await client.sessions.create({
        agent_id: newAgent,
        ...(newTitle.trim() ? { title: newTitle.trim() } : {}),
      });
      if (newRunner && session.runner_id !== newRunner) {
        session = await client.sessions.update(session.id, { runner_id: newRunner });
      }
      navigate(`/sessions/${encodeURIComponent(session.id)}`);
    } catch (failure) {
      fail(failure);
    } finally {
      setCreating(false);
    }
  };

  const agentName = (id: string) => agents.find((a) => a.id === id)?.name ?? id;

  return (
    <section>
      <h1>Sessions</h1>
      <form class="card create" onSubmit={create} aria-labelledby="create-heading">
        <h2 id="create-heading">New session</h2>
        <div class="fields">
          <div class="field">
            <label for="f-agent">Agent</label>
            <select
              id="f-agent"
              name="agent"
              value={newAgent}
              onChange={(e) => setNewAgent((e.target as HTMLSelectElement).value)}
            >
              <AgentOptions agents={agents} />
            </select>
          </div>
          <div class="field">
            <label for="f-runner">Runner</label>
            <select
              id="f-runner"
              name="runner"
              value={newRunner}
              onChange={(e) => setNewRunner((e.target as HTMLSelectElement).value)}
            >
              {runners.length === 0 ? <option value="">No runner online</option> : null}
              {runners.map((runner) => (
                <option key={runner.runner_id} value={runner.runner_id}>
                  {runner.runner_id}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="f-title">Title (optional)</label>
            <input
              id="f-title"
              name="title"
              value={newTitle}
              maxLength={500}
              onInput={(e) => setNewTitle((e.target as HTMLInputElement).value)}
            />
          </div>
          <button type="submit" disabled={creating}>
            {creating ? 'Creating…' : 'Create session'}
          </button>
        </div>
      </form>

      <div class="filters" role="search">
        <div class="field">
          <label for="f-search">Search</label>
          <input
            id="f-search"
            type="search"
            name="search"
            value={search}
            onInput={(e) => refilter(setSearch)((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="f-agent-filter">Agent filter</label>
          <select
            id="f-agent-filter"
            name="agent-filter"
            value={agentFilter}
            onChange={(e) => refilter(setAgentFilter)((e.target as HTMLSelectElement).value)}
          >
            <option value="">All agents</option>
            <AgentOptions agents={agents} />
          </select>
        </div>
        <label class="check">
          <input
            type="checkbox"
            name="archived"
            checked={archived}
            onChange={(e) => refilter(setArchived)((e.target as HTMLInputElement).checked)}
          />
          Show archived
        </label>
      </div>

      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}

      {page === undefined ? (
        <p role="status">Loading…</p>
      ) : page.data.length === 0 ? (
        <p>No sessions{search || agentFilter ? ' match these filters' : ' yet'}.</p>
      ) : (
        <ul class="rows" aria-label="Sessions">
          {page.data.map((row) => (
            <li key={row.id} class="row">
              <Link to={`/sessions/${encodeURIComponent(row.id)}`} class="row-main">
                {row.title || row.id}
              </Link>
              <span class="meta">
                {row.agent_name ?? agentName(row.agent_id)} ·{' '}
                <span class={`status ${row.status}`}>{row.status}</span>
                {row.archived ? ' · archived' : ''}
                {row.pending_elicitations_count
                  ? ` · ${row.pending_elicitations_count} waiting for approval`
                  : ''}
                {' · '}
                <time dateTime={new Date(row.updated_at * 1000).toISOString()}>
                  {formatTime(row.updated_at)}
                </time>
              </span>
            </li>
          ))}
        </ul>
      )}
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={cursors.length <= 1}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Previous page
        </button>
        <span>Page {cursors.length}</span>
        <button
          type="button"
          disabled={!page?.has_more || !page.last_id}
          onClick={() => page?.last_id && setCursors([...cursors, page.last_id])}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}
