import type { OmnigentClient } from '@omnigent-server/client';
import type { JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';

import { describeError, isUnauthorized, makeClient, storeToken, storedToken, whoAmI } from './api';
import { RunnersPage } from './pages/runners';
import { SessionPage } from './pages/session';
import { SessionsPage } from './pages/sessions';
import { SignInPage } from './pages/sign-in';
import { Link, navigate, useRoute } from './router';

type AuthState =
  | { kind: 'checking' }
  | { kind: 'ok'; client: OmnigentClient; signedIn: boolean }
  | { kind: 'needs-token'; message?: string }
  | { kind: 'unreachable'; message: string };

export interface PageProps {
  client: OmnigentClient;
  /** A call answered 401: the token expired or was revoked. */
  onUnauthorized: (error: unknown) => void;
}

export function App(): JSX.Element {
  const route = useRoute();
  const [auth, setAuth] = useState<AuthState>({ kind: 'checking' });

  const check = useCallback(async (token: string | undefined) => {
    const client = makeClient(token);
    try {
      await whoAmI(client);
      setAuth({ kind: 'ok', client, signedIn: token !== undefined });
    } catch (error) {
      if (isUnauthorized(error)) {
        storeToken(undefined);
        setAuth({ kind: 'needs-token' });
      } else {
        setAuth({ kind: 'unreachable', message: describeError(error) });
      }
    }
  }, []);

  useEffect(() => {
    void check(storedToken());
  }, [check]);

  const onUnauthorized = useCallback((error: unknown) => {
    storeToken(undefined);
    setAuth({
      kind: 'needs-token',
      message: `Your token was refused (401): ${(error as Error).message}. Sign in again.`,
    });
  }, []);

  const signOut = () => {
    storeToken(undefined);
    setAuth({ kind: 'needs-token' });
    navigate('/sign-in');
  };

  let main: JSX.Element;
  if (auth.kind === 'checking') {
    main = <p role="status">Connecting to the server…</p>;
  } else if (auth.kind === 'unreachable') {
    main = (
      <p role="alert" class="error">
        {auth.message}
      </p>
    );
  } else if (auth.kind === 'needs-token') {
    main = (
      <SignInPage
        notice={auth.message}
        onSignedIn={(client) => {
          setAuth({ kind: 'ok', client, signedIn: true });
          if (route.page === 'sign-in') {
            navigate('/');
          }
        }}
      />
    );
  } else if (route.page === 'sign-in') {
    main = (
      <section>
        <h1>Sign in</h1>
        <p>
          {auth.signedIn
            ? 'You are signed in.'
            : 'This server runs in local mode (no authentication): there is nothing to sign in to.'}{' '}
          <Link to="/">Go to the sessions</Link>.
        </p>
      </section>
    );
  } else {
    const props: PageProps = { client: auth.client, onUnauthorized };
    switch (route.page) {
      case 'sessions':
        main = <SessionsPage {...props} />;
        break;
      case 'session':
        main = <SessionPage key={route.id} {...props} sessionId={route.id} />;
        break;
      case 'runners':
        main = <RunnersPage {...props} />;
        break;
      case 'not-found':
        main = (
          <section>
            <h1>Not found</h1>
            <p>
              No console page here. <Link to="/">Go to the sessions</Link>.
            </p>
          </section>
        );
        break;
    }
  }

  const current = (page: string) => (route.page === page ? ('page' as const) : undefined);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Omnigent</span>
        <nav aria-label="Main">
          <Link to="/" aria-current={current('sessions')}>
            Sessions
          </Link>
          <Link to="/runners" aria-current={current('runners')}>
            Runners and hosts
          </Link>
        </nav>
        {auth.kind === 'ok' && auth.signedIn ? (
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {main}
      </main>
    </>
  );
}
