import { useEffect, useState, type FormEvent } from 'react';
import { api, seg } from '../api/client.js';
import { useApi, usePermissions, type PermissionCheck } from '../api/hooks.js';
import type { CreatedToken, Identity, NhiReport, Token } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { when } from '../components/format.js';
import { useMe } from '../session-context.js';
import {
  maskedToken,
  parseOwners,
  SEVERITY_TONE,
  sortFindings,
  tokenStatus,
} from './identities-view.js';
import './Identities.css';

interface TokenSettings {
  scopes: string[];
  maxLifetimeDays: number;
  maxOverlapHours: number;
}

/**
 * People and service accounts, their API tokens, and the non-human-identity hygiene report. Every
 * button shows only when the server's policies allow it (POST /v1/permissions); a token's secret
 * is shown once, when it is made, and never again.
 */
export function IdentitiesPage() {
  const me = useMe();
  const tokens = useApi<{ tokens: Token[] }>('/v1/tokens');
  const base = usePermissions([
    { action: 'readAudit' },
    { action: 'manageIdentities' },
    { action: 'grantRoles' },
  ]);
  const canList = base.can('readAudit');
  const identities = useApi<{ identities: Identity[] }>(canList ? '/v1/identities' : null);
  // manageTokens is decided per identity: ask for each one the page could act on.
  const names = [
    ...new Set([
      me.name,
      ...(identities.data?.identities.map((i) => i.name) ?? []),
      ...(tokens.data?.tokens.map((t) => t.identity) ?? []),
    ]),
  ]
    .sort()
    .slice(0, 100);
  const [newToken, setNewToken] = useState<CreatedToken | null>(null);
  const manageable = useManageable(names);

  const reloadAll = () => {
    tokens.reload();
    identities.reload();
  };

  return (
    <main>
      <h1>Identities &amp; tokens</h1>
      {newToken ? <NewTokenPanel created={newToken} onDone={() => setNewToken(null)} /> : null}

      <section aria-labelledby="identities-title">
        <h2 id="identities-title">Identities</h2>
        {!canList ? (
          <p className="muted">
            Listing identities needs the audit:read scope and an auditor or admin role on the
            workspace. You are <strong>{me.name}</strong> ({me.kind}).
          </p>
        ) : null}
        <ErrorView error={identities.error} />
        {identities.loading && !identities.data ? <Loading what="identities" /> : null}
        {identities.data ? <IdentityTable identities={identities.data.identities} /> : null}
        <div className="grid2">
          {base.can('manageIdentities') ? <AddIdentity onAdded={reloadAll} /> : null}
          {base.can('grantRoles') ? (
            <GrantRole identities={identities.data?.identities ?? []} onGranted={reloadAll} />
          ) : null}
        </div>
      </section>

      <section aria-labelledby="tokens-title">
        <h2 id="tokens-title">API tokens</h2>
        <ErrorView error={tokens.error} />
        {tokens.loading && !tokens.data ? <Loading what="tokens" /> : null}
        {tokens.data ? (
          <TokenTable
            tokens={tokens.data.tokens}
            canManage={manageable.can}
            onNewToken={(t) => {
              setNewToken(t);
              tokens.reload();
            }}
            onChanged={tokens.reload}
          />
        ) : null}
        {manageable.list.length > 0 ? (
          <CreateToken
            identities={manageable.list}
            kinds={new Map(identities.data?.identities.map((i) => [i.name, i.kind]) ?? [])}
            onCreated={(t) => {
              setNewToken(t);
              tokens.reload();
            }}
          />
        ) : null}
      </section>

      {canList ? <NhiSection /> : null}
    </main>
  );
}

/**
 * Which of `names` the caller may manage tokens of. usePermissions answers per action, and
 * manageTokens is decided per identity, so this asks POST /v1/permissions with one check each.
 */
function useManageable(names: string[]): { can: (identity: string) => boolean; list: string[] } {
  const key = JSON.stringify(names);
  const [allowed, setAllowed] = useState<string[]>([]);
  useEffect(() => {
    if (names.length === 0) return;
    const ctl = new AbortController();
    api<{ decisions: { allowed: boolean }[] }>('/v1/permissions', {
      method: 'POST',
      body: {
        checks: names.map((identity): PermissionCheck => ({ action: 'manageTokens', identity })),
      },
      signal: ctl.signal,
    }).then(
      (r) => setAllowed(names.filter((_, i) => r.decisions[i]?.allowed)),
      () => undefined,
    );
    return () => ctl.abort();
    // `key` stands for names.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return { can: (identity) => allowed.includes(identity), list: allowed };
}

function IdentityTable({ identities }: { identities: Identity[] }) {
  if (identities.length === 0) return <p>No identities.</p>;
  return (
    <table className="table">
      <caption className="sr-only">Identities</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Kind</th>
          <th scope="col">Owners</th>
          <th scope="col">Roles</th>
          <th scope="col">Groups</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {identities.map((i) => (
          <tr key={i.name}>
            <th scope="row">{i.name}</th>
            <td>{i.kind === 'service' ? 'service account' : 'human'}</td>
            <td>{i.owners.join(', ') || '–'}</td>
            <td>{i.roles.length ? i.roles.join(', ') : <span className="muted">none</span>}</td>
            <td>{i.groups.join(', ') || '–'}</td>
            <td>
              {i.disabledAt ? (
                <span className="badge badge-bad" title={when(i.disabledAt)}>
                  disabled
                </span>
              ) : (
                <span className="badge badge-good">active</span>
              )}
              {i.flag ? (
                <div>
                  <span className="badge badge-warn">{i.flag}</span>
                </div>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AddIdentity({ onAdded }: { onAdded: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'human' | 'service'>('human');
  const [owners, setOwners] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setDone('');
    try {
      const added = await api<Identity>('/v1/identities', {
        method: 'POST',
        body: { name: name.trim(), kind, owners: kind === 'service' ? parseOwners(owners) : [] },
      });
      setDone(`Added ${added.kind === 'service' ? 'service account' : 'person'} ${added.name}.`);
      setName('');
      setOwners('');
      onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="panel" aria-labelledby="add-identity-title" onSubmit={(e) => void submit(e)}>
      <h3 id="add-identity-title">Add identity</h3>
      <div className="field">
        <label htmlFor="identity-name">Name</label>
        <input
          id="identity-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          pattern="[A-Za-z0-9][A-Za-z0-9._@\-]{0,127}"
        />
      </div>
      <fieldset className="identities-radios">
        <legend>Kind</legend>
        <label>
          <input
            type="radio"
            name="identity-kind"
            value="human"
            checked={kind === 'human'}
            onChange={() => setKind('human')}
          />{' '}
          Human
        </label>
        <label>
          <input
            type="radio"
            name="identity-kind"
            value="service"
            checked={kind === 'service'}
            onChange={() => setKind('service')}
          />{' '}
          Service account
        </label>
      </fieldset>
      {kind === 'service' ? (
        <div className="field">
          <label htmlFor="identity-owners">Owners (accountable people, comma-separated)</label>
          <input
            id="identity-owners"
            value={owners}
            onChange={(e) => setOwners(e.target.value)}
            required
          />
        </div>
      ) : null}
      <div className="toolbar">
        <button type="submit" className="primary">
          Add identity
        </button>
      </div>
      {done ? (
        <p className="notice" role="status">
          {done}
        </p>
      ) : null}
      <ErrorView error={error} />
    </form>
  );
}

function GrantRole({ identities, onGranted }: { identities: Identity[]; onGranted: () => void }) {
  const roles = useApi<{ roles: string[] }>('/v1/roles');
  const [subject, setSubject] = useState('');
  const [role, setRole] = useState('');
  const [dataset, setDataset] = useState('*');
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setDone('');
    try {
      const r = await api<{ subject: string; role: string; dataset: string; changed: boolean }>(
        `/v1/identities/${seg(subject.trim())}/grants`,
        { method: 'POST', body: { role, dataset: dataset.trim() || '*' } },
      );
      setDone(
        r.changed
          ? `Granted ${r.role} on ${r.dataset} to ${r.subject}.`
          : `${r.subject} already had ${r.role} on ${r.dataset}.`,
      );
      onGranted();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="panel" aria-labelledby="grant-title" onSubmit={(e) => void submit(e)}>
      <h3 id="grant-title">Grant a role</h3>
      <div className="field">
        <label htmlFor="grant-subject">Identity or group:name</label>
        <input
          id="grant-subject"
          value={subject}
          onChange={(e) => setSubject(e.target.value)}
          list="grant-identities"
          required
        />
        <datalist id="grant-identities">
          {identities.map((i) => (
            <option key={i.name} value={i.name} />
          ))}
        </datalist>
      </div>
      <div className="field">
        <label htmlFor="grant-role">Role</label>
        <select id="grant-role" value={role} onChange={(e) => setRole(e.target.value)} required>
          <option value="">choose…</option>
          {(roles.data?.roles ?? []).map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="grant-dataset">Dataset (* for every dataset)</label>
        <input id="grant-dataset" value={dataset} onChange={(e) => setDataset(e.target.value)} />
      </div>
      <div className="toolbar">
        <button type="submit" className="primary">
          Grant role
        </button>
      </div>
      {done ? (
        <p className="notice" role="status">
          {done}
        </p>
      ) : null}
      <ErrorView error={error} />
    </form>
  );
}

function TokenTable(props: {
  tokens: Token[];
  canManage: (identity: string) => boolean;
  onNewToken: (t: CreatedToken) => void;
  onChanged: () => void;
}) {
  const [revoking, setRevoking] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const rotate = async (t: Token) => {
    setError(undefined);
    try {
      props.onNewToken(
        await api<CreatedToken>(`/v1/tokens/${seg(t.keyId)}/rotate`, {
          method: 'POST',
          body: {},
        }),
      );
    } catch (err) {
      setError(err);
    }
  };
  if (props.tokens.length === 0) return <p>No tokens you may manage.</p>;
  return (
    <>
      <ErrorView error={error} />
      <table className="table">
        <caption className="sr-only">API tokens (secrets are never shown)</caption>
        <thead>
          <tr>
            <th scope="col">Key id</th>
            <th scope="col">Identity</th>
            <th scope="col">Token</th>
            <th scope="col">Scopes</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.tokens.map((t) => {
            const status = tokenStatus(t);
            const manage = props.canManage(t.identity) && status === 'active';
            return (
              <tr key={t.keyId}>
                <th scope="row">
                  <code>{t.keyId}</code>
                </th>
                <td>{t.identity}</td>
                <td>
                  <code>{maskedToken(t.display)}</code>
                  <div className="muted">
                    {t.kind} · {t.env}
                    {t.rotatedFrom ? ` · replaces ${t.rotatedFrom}` : ''}
                  </div>
                </td>
                <td className="identities-scopes">{t.scopes.join(', ')}</td>
                <td>{when(t.createdAt)}</td>
                <td>{t.expiresAt ? when(t.expiresAt) : <span className="muted">never</span>}</td>
                <td title={t.lastUsedAgent ?? undefined}>
                  {t.lastUsedAt ? when(t.lastUsedAt) : <span className="muted">never</span>}
                </td>
                <td>
                  <span
                    className={`badge badge-${status === 'active' ? 'good' : status === 'revoked' ? 'bad' : 'warn'}`}
                  >
                    {status}
                  </span>
                  {t.revokedAt ? <div className="muted">{when(t.revokedAt)}</div> : null}
                </td>
                <td>
                  {manage ? (
                    <div className="identities-actions">
                      <button
                        type="button"
                        aria-label={`Rotate token ${t.keyId}`}
                        onClick={() => void rotate(t)}
                      >
                        Rotate
                      </button>
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Revoke token ${t.keyId}`}
                        aria-expanded={revoking === t.keyId}
                        onClick={() => setRevoking(revoking === t.keyId ? null : t.keyId)}
                      >
                        Revoke…
                      </button>
                    </div>
                  ) : null}
                  {revoking === t.keyId ? (
                    <RevokeForm
                      keyId={t.keyId}
                      onDone={() => {
                        setRevoking(null);
                        props.onChanged();
                      }}
                    />
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

function RevokeForm({ keyId, onDone }: { keyId: string; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api<Token>(`/v1/tokens/${seg(keyId)}/revoke`, {
        method: 'POST',
        body: { reason: reason.trim() },
      });
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="identities-revoke" onSubmit={(e) => void submit(e)}>
      <label htmlFor={`revoke-${keyId}`}>Reason (logged)</label>
      <input
        id={`revoke-${keyId}`}
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        required
      />
      <button type="submit" className="danger">
        Revoke {keyId}
      </button>
      <ErrorView error={error} />
    </form>
  );
}

const EXPIRIES = [
  { value: '', label: 'never (people only)' },
  { value: '1d', label: '1 day' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
];

function CreateToken(props: {
  identities: string[];
  kinds: Map<string, string>;
  onCreated: (t: CreatedToken) => void;
}) {
  const me = useMe();
  const settings = useApi<TokenSettings>('/v1/tokens/settings');
  const [identity, setIdentity] = useState(
    props.identities.includes(me.name) ? me.name : (props.identities[0] ?? ''),
  );
  const [scopes, setScopes] = useState<string[]>(['datasets:read']);
  const [expires, setExpires] = useState('30d');
  const [error, setError] = useState<unknown>(undefined);
  const service = props.kinds.get(identity) === 'service';
  const toggle = (scope: string, on: boolean) =>
    setScopes((s) => (on ? [...s, scope] : s.filter((x) => x !== scope)));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      props.onCreated(
        await api<CreatedToken>('/v1/tokens', {
          method: 'POST',
          body: { identity, scopes, ...(expires ? { expiresIn: expires } : {}) },
        }),
      );
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="panel" aria-labelledby="create-token-title" onSubmit={(e) => void submit(e)}>
      <h3 id="create-token-title">Create token</h3>
      <div className="identities-create">
        <div className="field">
          <label htmlFor="token-identity">Identity</label>
          <select
            id="token-identity"
            value={identity}
            onChange={(e) => setIdentity(e.target.value)}
          >
            {props.identities.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="token-expires">Expires in</label>
          <select id="token-expires" value={expires} onChange={(e) => setExpires(e.target.value)}>
            {EXPIRIES.map((x) => (
              <option key={x.value} value={x.value} disabled={service && x.value === ''}>
                {x.label}
              </option>
            ))}
          </select>
          {settings.data ? (
            <span className="muted">
              service-account tokens must expire, within {settings.data.maxLifetimeDays} days
            </span>
          ) : null}
        </div>
      </div>
      <fieldset className="identities-scopes-picker">
        <legend>Scopes</legend>
        <ErrorView error={settings.error} />
        {(settings.data?.scopes ?? []).map((scope) => (
          <label key={scope}>
            <input
              type="checkbox"
              checked={scopes.includes(scope)}
              onChange={(e) => toggle(scope, e.target.checked)}
            />{' '}
            <code>{scope}</code>
          </label>
        ))}
      </fieldset>
      <div className="toolbar">
        <button type="submit" className="primary" disabled={scopes.length === 0 || !identity}>
          Create token
        </button>
      </div>
      <ErrorView error={error} />
    </form>
  );
}

/** The new token, shown this once: copy it now; it is kept only in this page's memory. */
function NewTokenPanel({ created, onDone }: { created: CreatedToken; onDone: () => void }) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <section className="panel identities-new-token" aria-labelledby="new-token-title" role="alert">
      <h2 id="new-token-title">
        New token for {created.identity} ({created.keyId})
      </h2>
      <p>
        <strong>Copy it now: this is the only time it is shown.</strong> Cordon keeps only its hash;
        if it is lost, create or rotate another.
        {created.oldExpiresAt
          ? ` The token it replaces stops working ${when(created.oldExpiresAt)}.`
          : ''}
      </p>
      <div className="toolbar">
        <label htmlFor="new-token-value" className="sr-only">
          The new token
        </label>
        <input
          id="new-token-value"
          className="identities-token-value mono"
          readOnly
          value={created.token}
          onFocus={(e) => e.target.select()}
        />
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy token
        </button>
        <button type="button" onClick={onDone}>
          I have stored it
        </button>
        <span role="status">
          {copied === 'yes'
            ? 'Copied.'
            : copied === 'failed'
              ? 'Copy failed: select and copy it.'
              : ''}
        </span>
      </div>
      <p className="muted">
        Scopes: {created.scopes.join(', ')}; expires{' '}
        {created.expiresAt ? when(created.expiresAt) : 'never'}.
      </p>
    </section>
  );
}

function NhiSection() {
  const report = useApi<NhiReport>('/v1/nhi/report');
  return (
    <section aria-labelledby="nhi-title">
      <h2 id="nhi-title">Non-human identity hygiene</h2>
      <p className="muted">
        Token and bot hygiene, mapped to the OWASP Non-Human Identities Top 10.
      </p>
      <ErrorView error={report.error} />
      {report.loading && !report.data ? <Loading what="the report" /> : null}
      {report.data ? (
        <>
          <p>
            {report.data.findings.length === 0
              ? 'No findings'
              : `${report.data.findings.length} finding${report.data.findings.length > 1 ? 's' : ''}`}{' '}
            over {report.data.identities} identities and {report.data.tokens} tokens.
          </p>
          {report.data.findings.length > 0 ? (
            <table className="table">
              <caption className="sr-only">Hygiene findings, worst first</caption>
              <thead>
                <tr>
                  <th scope="col">Severity</th>
                  <th scope="col">OWASP NHI</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Identity</th>
                  <th scope="col">Token</th>
                  <th scope="col">Finding</th>
                </tr>
              </thead>
              <tbody>
                {sortFindings(report.data.findings).map((f, i) => (
                  <tr key={`${f.rule}-${f.subject.identity}-${f.subject.token ?? ''}-${i}`}>
                    <td>
                      <span className={`badge badge-${SEVERITY_TONE[f.severity] ?? 'neutral'}`}>
                        {f.severity}
                      </span>
                    </td>
                    <th scope="row">
                      {f.item} <span className="muted">{f.title}</span>
                    </th>
                    <td>
                      <code>{f.rule}</code>
                    </td>
                    <td>{f.subject.identity}</td>
                    <td>{f.subject.token ? <code>{f.subject.token}</code> : '–'}</td>
                    <td>{f.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
