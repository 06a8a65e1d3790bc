// Placeholder: replaced by the page's real implementation.
export function SnapshotPage({ snapshot }: { snapshot: string }) {
  return (
    <main>
      <h1>{snapshot}</h1>
    </main>
  );
}
