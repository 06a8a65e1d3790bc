// Placeholder: replaced by the page's real implementation.
export function AuditPage() {
  return (
    <main>
      <h1>Audit</h1>
    </main>
  );
}
