import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/build-once.ts"],
    // Oracle and Pulumi CLI tests spawn real processes and mostly wait on them, so two workers on the two-core
    // machines halve the wall time (vitest's default is cores - 1 = one worker).
    pool: "forks",
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    // Hang guards, not speed targets, at least 3x the slowest seen in CI on the loaded two-core machine (load 10+): a
    // test 155 s (e2e-plan-ahead, several `pulumi` commands), a file's hooks 93 s together (e2e-relink). A tighter
    // guard fails a slow but correct run.
    testTimeout: 480_000,
    hookTimeout: 600_000,
  },
});
