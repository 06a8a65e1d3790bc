import { useState, type FormEvent } from 'react';
import { ApiError, whoamiWith } from '../api/client.js';
import type { Whoami } from '../api/types.js';
import { ErrorView } from '../components/ErrorView.js';

/**
 * Sign-in with a Cordon API token (`cordon token create --identity <you>`). The token is checked
 * with GET /v1/whoami before it is kept; a refused one shows the server's reason.
 */
export function SignIn({ onSignedIn }: { onSignedIn: (token: string, me: Whoami) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return;
    setBusy(true);
    setError(null);
    whoamiWith<Whoami>(t).then(
      (me) => onSignedIn(t, me),
      (err: unknown) => {
        setBusy(false);
        setError(
          err instanceof ApiError && err.status === 401
            ? new Error(`This token was refused: ${err.message}`)
            : err,
        );
      },
    );
  };

  return (
    <main className="signin">
      <h1>Cordon console</h1>
      <p>
        Sign in with your Cordon API token. It stays in this tab only and is sent to this server
        alone.
      </p>
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder="cordon_pat_live_…"
          required
        />
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      <ErrorView error={error} />
      <p className="muted">
        No token yet? Ask an admin, or run{' '}
        <code>cordon token create --identity &lt;you&gt; --scope …</code>.
      </p>
    </main>
  );
}
