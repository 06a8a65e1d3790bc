import { useState } from 'react';
import { api, seg } from '../api/client.js';
import { ErrorView } from '../components/ErrorView.js';

const FORMATS = [
  { format: 'openlineage', label: 'OpenLineage events (JSON)' },
  { format: 'slsa', label: 'Signed SLSA provenance (JSON)' },
] as const;

/**
 * Downloads the lineage in an exchange format. The API needs the bearer token, so a plain link
 * cannot fetch it: the page fetches the JSON and hands it over as a file from a Blob URL.
 */
export function ExportLinks({ snapshot, ref_ }: { snapshot: string; ref_: string }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const download = async (format: string) => {
    setBusy(format);
    setError(null);
    try {
      const body = await api<unknown>(`/v1/snapshots/${seg(snapshot)}/lineage`, {
        query: { format },
      });
      const blob = new Blob([JSON.stringify(body, null, 2)], { type: 'application/json' });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `${ref_.replace(/[^A-Za-z0-9._@-]/g, '_')}.${format}.json`;
      document.body.append(a);
      a.click();
      a.remove();
      // Let the download start before the URL goes.
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      <span className="muted">Export:</span>
      {FORMATS.map((f) => (
        <button
          key={f.format}
          type="button"
          disabled={busy !== null}
          onClick={() => void download(f.format)}
        >
          {busy === f.format ? 'Preparing…' : f.label}
        </button>
      ))}
      <ErrorView error={error} />
    </>
  );
}
