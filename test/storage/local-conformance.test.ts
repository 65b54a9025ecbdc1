/** The storage conformance suite against the local adapter, in a fresh temporary folder per test. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { localStorage } from "../../provider/storage/local/local-storage";
import { describeStorageConformance, nodeFsFixtureParts } from "./conformance";

describeStorageConformance("local (node:fs)", async () => {
  const root = mkdtempSync(join(tmpdir(), "vhd-conformance-"));
  return { storage: localStorage, root, join: (...names) => join(root, ...names), ...nodeFsFixtureParts(root) };
});

describe("local (node:fs): a named pipe", () => {
  // Opened for reading without O_NONBLOCK, a pipe with no writer never answers: this test would hang to its timeout.
  it("open refuses it at once with ERROR_VIRTDISK_NOT_VIRTUAL_DISK, for reading and for writing", async () => {
    const root = mkdtempSync(join(tmpdir(), "vhd-fifo-"));
    try {
      const pipe = join(root, "a.vhd");
      execFileSync("mkfifo", [pipe]);
      for (const writable of [false, true]) {
        await expect(localStorage.open(pipe, { writable, parameter: "imagePath" })).rejects.toMatchObject({
          code: "ERROR_VIRTDISK_NOT_VIRTUAL_DISK",
          parameter: "imagePath",
          path: pipe,
        });
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
