/**
 * Sign-in with a bearer token. In development the API lists the demo users and their published
 * demo tokens (GET /dev/demo-users, absent with NODE_ENV=production): one click signs in as one.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorSummary, Field, formError, type FormError } from '../components/forms';
import { useTitle } from '../components/common';
import type { SignInProps } from '../session';

interface DemoUser {
  id: string;
  name: string;
  roles: string[];
  token: string;
}

export function SignIn({ accept, message }: SignInProps) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const [demo, setDemo] = useState<DemoUser[]>([]);

  useEffect(() => {
    // Not an /api/v1 call: the picker exists only in development and needs no token.
    fetch('/dev/demo-users', { headers: { accept: 'application/json' } })
      .then(async (res) => (res.ok ? ((await res.json()) as { users: DemoUser[] }).users : []))
      .then(setDemo)
      .catch(() => setDemo([]));
  }, []);

  const signIn = async (value: string) => {
    setBusy(true);
    setError(null);
    try {
      await accept(value.trim());
    } catch (err) {
      setError(formError(err));
      setBusy(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void signIn(token);
  };

  return (
    <main id="main" className="sign-in">
      <h1>Sign in to invoiceflow</h1>
      {message && (
        <p className="notice notice-info" role="status">
          {message}
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <ErrorSummary error={error} />
        <Field label="Bearer token" hint="Your administrator gives you a token; it is kept only while this browser tab is open.">
          {(a11y) => (
            <input
              {...a11y}
              type="password"
              name="token"
              autoComplete="off"
              spellCheck={false}
              required
              value={token}
              onChange={(e) => setToken(e.target.value)}
            />
          )}
        </Field>
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
      {demo.length > 0 && (
        <section className="demo-users" aria-labelledby="demo-heading">
          <h2 id="demo-heading">Demo users (development only)</h2>
          <ul>
            {demo.map((u) => (
              <li key={u.id}>
                <button type="button" className="secondary" disabled={busy} onClick={() => void signIn(u.token)}>
                  Sign in as {u.name}
                </button>{' '}
                <span className="muted">
                  {u.roles.join(', ')} · token <code>{u.token}</code>
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
