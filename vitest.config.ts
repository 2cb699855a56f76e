import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/quiet-console.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: integration tests start servers and worker threads; keep the pool small.
    pool: 'forks',
    maxWorkers: 2,
    typecheck: { enabled: false },
  },
});
