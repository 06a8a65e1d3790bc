import { describe, expect, it } from 'vitest';
import {
  isActive,
  progressText,
  resultTarget,
  scanBody,
} from '../../../console/src/pages/jobs-view.js';

describe('the Jobs page', () => {
  it('links a finished job to what it produced', () => {
    expect(
      resultTarget({
        kind: 'scan',
        state: 'succeeded',
        result: { scan: { id: 'abc123def4567890', snapshot: 'f00d' } },
      }),
    ).toEqual({
      parts: ['snapshots', 'f00d', 'scans', 'abc123def4567890'],
      label: 'scan report abc123def456',
    });
    expect(
      resultTarget({ kind: 'ingest', state: 'succeeded', result: { snapshot: { ref: 'spam@4' } } }),
    ).toEqual({ parts: ['snapshots', 'spam@4'], label: 'snapshot spam@4' });
    expect(resultTarget({ kind: 'scan', state: 'failed', result: null })).toBeNull();
    expect(resultTarget({ kind: 'transform', state: 'succeeded', result: {} })).toBeNull();
  });

  it('says progress in words and tells running jobs apart', () => {
    expect(progressText(null)).toBe('waiting');
    expect(progressText({ phase: 'scan', detector: 'dup', records: 12000, fraction: 0.404 })).toBe(
      'scan · detector dup · 12,000 records · 40 %',
    );
    expect(isActive({ state: 'queued' })).toBe(true);
    expect(isActive({ state: 'cancelled' })).toBe(false);
  });

  it('sends only the scan options filled in', () => {
    expect(scanBody({ baseline: ' spam@1 ', failOn: '', spectral: false })).toEqual({
      baseline: 'spam@1',
      spectral: false,
    });
  });
});
