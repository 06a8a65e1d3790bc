/** Previous/next paging over a server-side list: offset, page size and (when known) the total. */
export function Pager(props: {
  offset: number;
  limit: number;
  total?: number | null;
  /** Rows on this page (when the total is unknown, a short page means the last). */
  shown: number;
  onChange: (offset: number) => void;
  label?: string;
}) {
  const { offset, limit, total, shown, onChange } = props;
  const last = total != null ? offset + limit >= total : shown < limit;
  return (
    <nav className="pager" aria-label={props.label ?? 'Pages'}>
      <button
        type="button"
        disabled={offset === 0}
        onClick={() => onChange(Math.max(0, offset - limit))}
      >
        ← Previous
      </button>
      <span aria-live="polite">
        {shown === 0
          ? 'none'
          : `${(offset + 1).toLocaleString()}–${(offset + shown).toLocaleString()}`}
        {total != null ? ` of ${total.toLocaleString()}` : ''}
      </span>
      <button type="button" disabled={last} onClick={() => onChange(offset + limit)}>
        Next →
      </button>
    </nav>
  );
}
