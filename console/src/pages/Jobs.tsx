// Placeholder: replaced by the page's real implementation.
export function JobsPage() {
  return (
    <main>
      <h1>Jobs</h1>
    </main>
  );
}
