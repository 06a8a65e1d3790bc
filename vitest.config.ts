import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // expect.poll waits for what a browser or a job does next: 1 s (the default) is too short on a
    // loaded CI machine.
    expect: { poll: { timeout: 30_000, interval: 100 } },
  },
});
