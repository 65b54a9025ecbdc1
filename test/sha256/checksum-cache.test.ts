import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CHECKSUM_CACHE_ENV, cachedChecksum, rememberChecksum } from "../../provider/sha256/checksum-cache";

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), "vhd-checksum-cache-"));
  vi.stubEnv(CHECKSUM_CACHE_ENV, folder);
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(folder, { recursive: true, force: true });
});

describe("checksum cache", () => {
  it("keeps the plain and the unlinked digest of one fingerprint apart", async () => {
    const key = "2049:77:4096:1000:2000";
    await rememberChecksum(key, "sha256", "a".repeat(64));
    expect(await cachedChecksum(key, "sha256-unlinked")).toBeUndefined();
    await rememberChecksum(key, "sha256-unlinked", `sha256-unlinked:${"b".repeat(64)}`);
    expect(await cachedChecksum(key, "sha256")).toBe("a".repeat(64));
    expect(await cachedChecksum(key, "sha256-unlinked")).toBe(`sha256-unlinked:${"b".repeat(64)}`);
  });

  it("reads a cache file written before digests had kinds as plain SHA-256s", async () => {
    writeFileSync(join(folder, "checksums.json"), JSON.stringify({ "1:2:3:4:5": "c".repeat(64) }));
    expect(await cachedChecksum("1:2:3:4:5", "sha256")).toBe("c".repeat(64));
    expect(await cachedChecksum("1:2:3:4:5", "sha256-unlinked")).toBeUndefined();
  });
});
