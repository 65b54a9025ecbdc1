/** A fresh temporary folder per test file, removed afterwards, so test files can run in parallel. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

/** Registers a temp folder for the current test file; call `path()` inside tests. */
export function useTempDir(prefix: string): { path: () => string } {
  let folder: string | undefined;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), `vhd-${prefix}-`));
  });
  afterAll(async () => {
    if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  });
  return {
    path: () => {
      if (folder === undefined) throw new Error("the temp folder exists only while tests run");
      return folder;
    },
  };
}
