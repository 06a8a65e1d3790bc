/**
 * The review queue's keyboard: one key per action, none of which the browser or a screen reader
 * needs unmodified. Lower-case keys act on the current item, Shift with the same key on every
 * selected item. `k` moves up (as in vi), so keep is `e`.
 */
export type ReviewAction =
  | 'next'
  | 'previous'
  | 'keep'
  | 'drop'
  | 'relabel'
  | 'toggleSelect'
  | 'selectPage'
  | 'keepSelected'
  | 'dropSelected'
  | 'relabelSelected'
  | 'clear'
  | 'nextPage'
  | 'previousPage'
  | 'help';

export interface KeyPress {
  key: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  /** Tag name of the element the key was pressed in (INPUT, TEXTAREA, SELECT, BUTTON…). */
  targetTag?: string;
  /** Its type, for an INPUT (a checkbox takes no typing, a text field does). */
  targetType?: string;
  /** Whether that element is editable (contenteditable). */
  targetEditable?: boolean;
}

export interface Shortcut {
  /** As shown in <kbd>: "j", "Shift+D". */
  keys: string[];
  action: ReviewAction;
  label: string;
}

/** Every shortcut, in the order the help lists them. */
export const REVIEW_SHORTCUTS: readonly Shortcut[] = [
  { keys: ['j', '↓'], action: 'next', label: 'Next item' },
  { keys: ['k', '↑'], action: 'previous', label: 'Previous item' },
  { keys: ['e'], action: 'keep', label: 'Keep the record' },
  { keys: ['d'], action: 'drop', label: 'Drop the record' },
  { keys: ['r'], action: 'relabel', label: 'Relabel the record…' },
  { keys: ['x'], action: 'toggleSelect', label: 'Select or unselect the item' },
  { keys: ['Shift+X'], action: 'selectPage', label: 'Select every item on the page (again: none)' },
  { keys: ['Shift+E'], action: 'keepSelected', label: 'Keep every selected record' },
  { keys: ['Shift+D'], action: 'dropSelected', label: 'Drop every selected record' },
  { keys: ['Shift+R'], action: 'relabelSelected', label: 'Relabel every selected record…' },
  { keys: ['Esc'], action: 'clear', label: 'Close the label picker, or clear the selection' },
  { keys: ['n'], action: 'nextPage', label: 'Next page' },
  { keys: ['p'], action: 'previousPage', label: 'Previous page' },
  { keys: ['?'], action: 'help', label: 'Show or hide these shortcuts' },
];

/** The shortcut shown for an action (its first key). */
export function shortcutFor(action: ReviewAction): string {
  return REVIEW_SHORTCUTS.find((s) => s.action === action)?.keys[0] ?? '';
}

const TYPING = new Set(['TEXTAREA', 'SELECT']);
const NOT_TYPING_INPUTS = new Set(['checkbox', 'radio', 'button', 'submit', 'reset']);

function typingIn(press: KeyPress): boolean {
  if (press.targetEditable) return true;
  const tag = press.targetTag?.toUpperCase();
  if (tag === undefined) return false;
  if (tag === 'INPUT') return !NOT_TYPING_INPUTS.has((press.targetType ?? 'text').toLowerCase());
  return TYPING.has(tag);
}

/**
 * The action a key press stands for, or null when it is not a shortcut: typing in a field,
 * with Ctrl, Cmd or Alt held (the browser's and the screen reader's own), or an unmapped key.
 * Enter and Space are never taken, so buttons and links keep working.
 */
export function reviewKeyAction(press: KeyPress): ReviewAction | null {
  if (press.ctrlKey || press.metaKey || press.altKey) return null;
  if (typingIn(press)) {
    // Escape still leaves a field's context (the label picker's filter, say).
    return press.key === 'Escape' ? 'clear' : null;
  }
  const shift = press.shiftKey === true;
  switch (press.key) {
    case 'ArrowDown':
      return shift ? null : 'next';
    case 'ArrowUp':
      return shift ? null : 'previous';
    case 'Escape':
      return 'clear';
    case '?':
      return 'help';
  }
  // With Shift, browsers report the upper-case letter; accept either.
  const letter = press.key.length === 1 ? press.key.toLowerCase() : '';
  const upper = press.key.length === 1 && press.key !== letter;
  const shifted = shift || upper;
  switch (letter) {
    case 'j':
      return shifted ? null : 'next';
    case 'k':
      return shifted ? null : 'previous';
    case 'e':
      return shifted ? 'keepSelected' : 'keep';
    case 'd':
      return shifted ? 'dropSelected' : 'drop';
    case 'r':
      return shifted ? 'relabelSelected' : 'relabel';
    case 'x':
      return shifted ? 'selectPage' : 'toggleSelect';
    case 'n':
      return shifted ? null : 'nextPage';
    case 'p':
      return shifted ? null : 'previousPage';
    default:
      return null;
  }
}

/** The index after moving by `step` within `count` items, staying on the first or last. */
export function moveIndex(index: number, step: number, count: number): number {
  if (count === 0) return 0;
  return Math.min(count - 1, Math.max(0, index + step));
}
