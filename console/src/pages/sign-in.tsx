import type { OmnigentClient } from '@omnigent-server/client';
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { describeError, isUnauthorized, makeClient, storeToken, whoAmI } from '../api';

/**
 * jwt mode only (in `none` mode the app never shows it): the token is checked against
 * `GET /v1/me` and kept in sessionStorage, never in the URL.
 */
export function SignInPage(props: {
  notice?: string;
  onSignedIn: (client: OmnigentClient) => void;
}): JSX.Element {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(props.notice);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError('Paste a token first.');
      return;
    }
    setBusy(true);
    setError(undefined);
    const client = makeClient(value);
    try {
      await whoAmI(client);
      storeToken(value);
      props.onSignedIn(client);
    } catch (failure) {
      setError(
        isUnauthorized(failure)
          ? `The server refused this token (401): ${(failure as Error).message}`
          : describeError(failure),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <h1>Sign in</h1>
      <p>
        This server needs a token. Ask its operator, or mint one with{' '}
        <code>omnigent token --sub YOU</code>. It stays in this tab only.
      </p>
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-describedby={error ? 'sign-in-error' : undefined}
          aria-invalid={error ? true : undefined}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      {error ? (
        <p id="sign-in-error" role="alert" class="error">
          {error}
        </p>
      ) : null}
    </section>
  );
}
