// Placeholder: replaced by the page's real implementation.
export function LineagePage({ snapshot }: { snapshot: string }) {
  return (
    <main>
      <h1>{snapshot}</h1>
    </main>
  );
}
