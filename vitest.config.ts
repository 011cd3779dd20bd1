import { defineConfig } from 'vitest/config';

/**
 * Tests that need no Temporal server: parsers, pure workflow state, routing and settings, the
 * replayer (it runs workflow code against recorded histories in-process), and the provider clients
 * against their sandboxes. They run as the `unit` project, without the dev server the others
 * share (`npx vitest run --project unit`); `npm test` runs both projects.
 */
const unit = [
  'test/providers/**/*.test.ts',
  'test/catch-up/**/*.test.ts',
  'test/workflows/subscription/**/*.test.ts',
  'test/workflows/mandate/**/*.test.ts',
  'test/workflows/event-inbox.test.ts',
  'test/workflows/web-ui.test.ts',
  'test/workflows/facts.test.ts',
  'test/workflows/routing.test.ts',
  'test/workflows/replay.test.ts',
  'test/store/account-store.test.ts',
  'test/store/dead-letter-store.test.ts',
  'test/receiver/accounts.test.ts',
  'test/testing/sandbox.test.ts',
  'test/testing/sign.test.ts',
  'test/testing/providers.test.ts',
  'test/run/receiver.test.ts',
  'test/testing/stripe-mock.test.ts',
  'test/temporal/connection.test.ts',
  'test/temporal/grpc-retry.test.ts',
  'test/temporal/deliver.test.ts',
  'test/bench/sender.test.ts',
  'test/temporal/server-binary.test.ts',
  'test/tracing/settings.test.ts',
];

export default defineConfig({
  test: {
    // The Temporal worker's native core does not run inside worker threads: one process per file.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 600_000,
    projects: [
      { extends: true, test: { name: 'unit', include: unit } },
      // One Temporal dev server for the whole run (test/support/global-setup.ts).
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: unit, globalSetup: ['test/support/global-setup.ts'] } },
    ],
  },
});
