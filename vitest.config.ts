import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/build-once.ts"],
    // Oracle and Pulumi CLI tests spawn real processes and mostly wait on them, so two workers on the two-core
    // machines halve the wall time (vitest's default is cores - 1 = one worker).
    pool: "forks",
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    // A hang guard, not a speed target: an end-to-end test runs several `pulumi` commands, and on a loaded two-core
    // machine some took over two minutes.
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
