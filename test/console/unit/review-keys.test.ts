import { describe, expect, it } from 'vitest';
import {
  moveIndex,
  REVIEW_SHORTCUTS,
  reviewKeyAction,
  shortcutFor,
} from '../../../console/src/pages/review-keys.js';

describe('the review queue keyboard', () => {
  it('maps the keys: j/k and the arrows move, e keeps, d drops, r relabels, x selects', () => {
    expect(reviewKeyAction({ key: 'j' })).toBe('next');
    expect(reviewKeyAction({ key: 'ArrowDown' })).toBe('next');
    expect(reviewKeyAction({ key: 'k' })).toBe('previous');
    expect(reviewKeyAction({ key: 'ArrowUp' })).toBe('previous');
    expect(reviewKeyAction({ key: 'e' })).toBe('keep');
    expect(reviewKeyAction({ key: 'd' })).toBe('drop');
    expect(reviewKeyAction({ key: 'r' })).toBe('relabel');
    expect(reviewKeyAction({ key: 'x' })).toBe('toggleSelect');
    expect(reviewKeyAction({ key: 'n' })).toBe('nextPage');
    expect(reviewKeyAction({ key: 'p' })).toBe('previousPage');
    expect(reviewKeyAction({ key: '?', shiftKey: true })).toBe('help');
    expect(reviewKeyAction({ key: 'Escape' })).toBe('clear');
  });

  it('acts on the selection with Shift, however the browser reports the letter', () => {
    expect(reviewKeyAction({ key: 'D', shiftKey: true })).toBe('dropSelected');
    expect(reviewKeyAction({ key: 'd', shiftKey: true })).toBe('dropSelected');
    expect(reviewKeyAction({ key: 'E', shiftKey: true })).toBe('keepSelected');
    expect(reviewKeyAction({ key: 'R', shiftKey: true })).toBe('relabelSelected');
    expect(reviewKeyAction({ key: 'X', shiftKey: true })).toBe('selectPage');
    // Caps Lock: an upper-case letter without Shift still means the selection.
    expect(reviewKeyAction({ key: 'D' })).toBe('dropSelected');
    expect(reviewKeyAction({ key: 'J', shiftKey: true })).toBeNull();
    expect(reviewKeyAction({ key: 'ArrowDown', shiftKey: true })).toBeNull();
  });

  it('leaves the browser, the screen reader and typing alone', () => {
    for (const mod of ['ctrlKey', 'metaKey', 'altKey'] as const)
      expect(reviewKeyAction({ key: 'd', [mod]: true })).toBeNull();
    expect(reviewKeyAction({ key: 'Enter' })).toBeNull();
    expect(reviewKeyAction({ key: ' ' })).toBeNull();
    expect(reviewKeyAction({ key: 'Tab' })).toBeNull();
    expect(reviewKeyAction({ key: 'd', targetTag: 'INPUT' })).toBeNull();
    expect(reviewKeyAction({ key: 'd', targetTag: 'INPUT', targetType: 'search' })).toBeNull();
    expect(reviewKeyAction({ key: 'd', targetTag: 'TEXTAREA' })).toBeNull();
    expect(reviewKeyAction({ key: 'j', targetTag: 'SELECT' })).toBeNull();
    expect(reviewKeyAction({ key: 'd', targetTag: 'DIV', targetEditable: true })).toBeNull();
    // Escape still leaves a field; a checkbox or a button takes no typing.
    expect(reviewKeyAction({ key: 'Escape', targetTag: 'INPUT' })).toBe('clear');
    expect(reviewKeyAction({ key: 'd', targetTag: 'INPUT', targetType: 'checkbox' })).toBe('drop');
    expect(reviewKeyAction({ key: 'd', targetTag: 'BUTTON' })).toBe('drop');
  });

  it('lists every action once, with distinct keys', () => {
    const actions = REVIEW_SHORTCUTS.map((s) => s.action);
    expect(new Set(actions).size).toBe(actions.length);
    const keys = REVIEW_SHORTCUTS.flatMap((s) => s.keys);
    expect(new Set(keys).size).toBe(keys.length);
    expect(shortcutFor('drop')).toBe('d');
    expect(shortcutFor('dropSelected')).toBe('Shift+D');
    // Each listed single key does what the list says.
    for (const s of REVIEW_SHORTCUTS)
      for (const k of s.keys) {
        if (k.length !== 1 || k === '↓' || k === '↑') continue;
        expect(reviewKeyAction({ key: k, shiftKey: k === '?' }), k).toBe(s.action);
      }
  });

  it('moves within the page and stops at its ends', () => {
    expect(moveIndex(0, 1, 3)).toBe(1);
    expect(moveIndex(2, 1, 3)).toBe(2);
    expect(moveIndex(0, -1, 3)).toBe(0);
    expect(moveIndex(5, 0, 3)).toBe(2);
    expect(moveIndex(0, 1, 0)).toBe(0);
  });
});
