// Placeholder: replaced by the page's real implementation.
export function ScanReportPage({ snapshot, scan }: { snapshot: string; scan: string }) {
  return (
    <main>
      <h1>
        {snapshot} {scan}
      </h1>
    </main>
  );
}
