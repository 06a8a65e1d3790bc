// Placeholder: replaced by the page's real implementation.
export function IdentitiesPage() {
  return (
    <main>
      <h1>Identities</h1>
    </main>
  );
}
