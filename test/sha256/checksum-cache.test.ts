import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CHECKSUM_CACHE_ENV, cachedChecksum, fingerprintsTrustedIn, rememberChecksum } from "../../provider/sha256/checksum-cache";
import { localStorage } from "../../provider/storage/local/local-storage";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";

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

  it("keeps every entry when several are remembered at once (a program hashing four golden images)", async () => {
    // Each remember reads the file, adds its entry and replaces the file: unserialised, the last writer's stale read
    // dropped the others' entries, and the plugin's checks then hashed those golden images a second time.
    const keys = Array.from({ length: 8 }, (_, index) => `2049:${index}:4096:1000:2000`);
    await Promise.all(keys.map((key, index) => rememberChecksum(key, "sha256", index.toString(16).repeat(64))));
    for (const [index, key] of keys.entries()) expect(await cachedChecksum(key, "sha256"), key).toBe(index.toString(16).repeat(64));
    expect(readdirSync(folder).sort()).toEqual(["checksums.json"]);
  });

  it("reads a cache file written before digests had kinds as plain SHA-256s", async () => {
    writeFileSync(join(folder, "checksums.json"), JSON.stringify({ "1:2:3:4:5": "c".repeat(64) }));
    expect(await cachedChecksum("1:2:3:4:5", "sha256")).toBe("c".repeat(64));
    expect(await cachedChecksum("1:2:3:4:5", "sha256-unlinked")).toBeUndefined();
  });
});

describe("where the cache is trusted", () => {
  it("trusts fingerprints on volumes whose ctime the kernel alone sets, and on none other", async () => {
    for (const fsType of ["ext", "xfs", "btrfs", "zfs", "tmpfs", "overlay", "nfs"] as const) {
      expect(await fingerprintsTrustedIn(localStorage, folder, { assumeFsType: fsType }), fsType).toBe(true);
    }
    for (const fsType of ["fat", "fat16", "fat32", "exfat", "squashfs", "iso9660", "udf", "smb", "fuse", "ntfs", "unknown"] as const) {
      expect(await fingerprintsTrustedIn(localStorage, folder, { assumeFsType: fsType }), fsType).toBe(false);
    }
    expect(await fingerprintsTrustedIn(localStorage, join(folder, "no-such-folder"))).toBe(false);
  });

  it("asks the storage holding the file, not the local cache folder", async () => {
    expect(await fingerprintsTrustedIn(new MemoryStorage({ fsType: "exfat" }), "/")).toBe(false);
    expect(await fingerprintsTrustedIn(new MemoryStorage({ fsType: "xfs" }), "/")).toBe(true);
  });
});
