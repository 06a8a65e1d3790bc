import { ApiError } from '../api/client.js';

/** An API refusal or failure, as the server explained it (its code, detail and instance). */
export function ErrorView({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div className="error" role="alert">
      <strong>{e ? `${e.status} ${e.code}` : 'Error'}</strong>{' '}
      <span>{error instanceof Error ? error.message : JSON.stringify(error)}</span>
      {e?.problem.errors?.length ? (
        <ul>
          {e.problem.errors.map((x) => (
            <li key={x.path}>
              <code>{x.path}</code>: {x.message}
            </li>
          ))}
        </ul>
      ) : null}
      {e?.problem.instance ? <div className="muted">{e.problem.instance}</div> : null}
    </div>
  );
}

export function Loading({ what }: { what?: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading{what ? ` ${what}` : ''}…
    </p>
  );
}
