import { useEffect, useRef, useState, type KeyboardEvent } from 'react';

/**
 * Picks the new label for a relabel: the dataset's labels as buttons (1–9 pick one), or another
 * label typed in. Escape cancels. Focus starts on the first label and returns to the page's
 * keyboard when the picker closes.
 */
export function LabelPicker(props: {
  labels: string[];
  /** Who is being relabelled, for the heading: "record m-0003", "4 selected records". */
  target: string;
  current?: string | null;
  onPick: (label: string) => void;
  onCancel: () => void;
}) {
  const { labels, onPick, onCancel } = props;
  const first = useRef<HTMLButtonElement>(null);
  const [other, setOther] = useState('');
  useEffect(() => {
    first.current?.focus();
  }, []);
  // Keys on every control of the picker (the dialog itself takes no events): Escape cancels,
  // 1–9 pick a label (not while typing one).
  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onCancel();
      return;
    }
    if ((e.target as HTMLElement).tagName === 'INPUT') return;
    const n = Number(e.key);
    if (Number.isInteger(n) && n >= 1 && n <= Math.min(9, labels.length)) {
      e.preventDefault();
      e.stopPropagation();
      onPick(labels[n - 1]!);
    }
  };
  return (
    <div
      className="panel review-picker"
      role="dialog"
      aria-modal="false"
      aria-labelledby="review-picker-title"
    >
      <h3 id="review-picker-title">New label for {props.target}</h3>
      {labels.length > 0 ? (
        <div className="toolbar" role="group" aria-label="Labels of the dataset">
          {labels.map((label, i) => (
            <button
              key={label}
              type="button"
              ref={i === 0 ? first : undefined}
              onClick={() => onPick(label)}
              onKeyDown={onKeyDown}
              aria-keyshortcuts={i < 9 ? String(i + 1) : undefined}
              aria-current={label === props.current ? 'true' : undefined}
            >
              {i < 9 ? (
                <>
                  <kbd aria-hidden="true">{i + 1}</kbd>{' '}
                </>
              ) : null}
              {label}
              {label === props.current ? <span className="muted"> (current)</span> : null}
            </button>
          ))}
        </div>
      ) : (
        <p className="muted">The dataset&apos;s labels could not be read; type one.</p>
      )}
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (other.trim() !== '') onPick(other.trim());
        }}
      >
        <label className="field">
          Another label
          <input
            value={other}
            onChange={(e) => setOther(e.target.value)}
            onKeyDown={onKeyDown}
            maxLength={200}
            ref={labels.length === 0 ? (el) => el?.focus() : undefined}
          />
        </label>
        <button type="submit" disabled={other.trim() === ''} onKeyDown={onKeyDown}>
          Use this label
        </button>
        <button type="button" onClick={onCancel} onKeyDown={onKeyDown}>
          Cancel
        </button>
      </form>
    </div>
  );
}
