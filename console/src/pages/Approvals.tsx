// Placeholder: replaced by the page's real implementation.
export function ApprovalsPage() {
  return (
    <main>
      <h1>Approvals</h1>
    </main>
  );
}
