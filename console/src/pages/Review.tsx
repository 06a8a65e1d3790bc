// Placeholder: replaced by the page's real implementation.
export function ReviewPage() {
  return (
    <main>
      <h1>Review</h1>
    </main>
  );
}
