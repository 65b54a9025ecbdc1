/** checksumCacheKey: how the checksum cache names a local and a remote file (checksum-cache.ts). */
import { describe, expect, it } from "vitest";
import { checksumCacheKey } from "../../provider/sha256/checksum-cache";
import { fingerprintKey, type FileFingerprint } from "../../provider/storage/facts";

const strong: FileFingerprint = { dev: "2049", ino: "131", size: 4096, mtimeNs: "1700000000123456789", ctimeNs: "1700000000123456789" };

describe("checksumCacheKey", () => {
  it("keeps the bare fingerprint key for a file on this machine (what caches of earlier versions hold)", () => {
    expect(checksumCacheKey(strong, "/images/golden.vhd", undefined)).toBe(fingerprintKey(strong));
  });

  it("keys a remote file by host, path and fingerprint, without the path in the key", () => {
    const a = checksumCacheKey(strong, "/images/golden.vhd", "ssh://vhd@a:22");
    expect(a).toMatch(/^remote:[0-9a-f]{64}$/);
    expect(checksumCacheKey(strong, "/images/golden.vhd", "ssh://vhd@b:22")).not.toBe(a);
    expect(checksumCacheKey(strong, "/images/other.vhd", "ssh://vhd@a:22")).not.toBe(a);
    expect(checksumCacheKey({ ...strong, ctimeNs: "1700000000999999999" }, "/images/golden.vhd", "ssh://vhd@a:22")).not.toBe(a);
  });

  it("never caches a remote fingerprint without ctime (SFTP attributes only)", () => {
    const weak: FileFingerprint = { dev: "sftp", ino: "", size: 4096, mtimeNs: "1700000000000000000", ctimeNs: "0" };
    expect(checksumCacheKey(weak, "/images/golden.vhd", "ssh://vhd@a:22")).toBeUndefined();
  });
});
