import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Oracle and Pulumi CLI tests spawn real processes; two cores are shared between them.
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: "forks",
  },
});
