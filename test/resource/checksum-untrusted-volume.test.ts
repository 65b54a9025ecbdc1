/**
 * A parent on a volume without a real ctime (FAT, exFAT, SMB, ...): edited with its mtime restored, its fingerprint
 * stays the same there, so a checksum remembered for that fingerprint must not be used. The volume type is injected
 * (the local storage's volumeFacts answers with `assumeFsType`), since this machine cannot mount FAT; the file, the
 * cache and the hash are real.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CHECKSUM_CACHE_ENV, rememberChecksum } from "../../provider/checksum/checksum-cache";
import { createBaseDisk } from "../../provider/ops/create-base";
import { parentChecksumOf } from "../../provider/ops/observe-parent";
import { type FileSystemType, fingerprintKey } from "../../provider/storage/facts";
import { localStorage } from "../../provider/storage/local/local-storage";

const realVolumeFacts = localStorage.volumeFacts.bind(localStorage);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vhd-untrusted-volume-"));
  vi.stubEnv(CHECKSUM_CACHE_ENV, join(dir, "cache"));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

describe("the checksum cache on a volume without a real ctime", () => {
  it.each<[FileSystemType, boolean]>([
    ["exfat", false],
    ["fat", false],
    ["smb", false],
    ["ext", true],
  ])("on %s, a checksum remembered for the parent's fingerprint is used: %s", async (fsType, used) => {
    vi.spyOn(localStorage, "volumeFacts").mockImplementation((folder) => realVolumeFacts(folder, { assumeFsType: fsType }));
    // A fresh file per case: the provider computes a checksum once per fingerprint and process.
    const golden = join(dir, `golden-${fsType}.vhd`);
    await createBaseDisk({ path: golden, size: 4 * 1024 * 1024, type: "fixed", pathRules: "posix" });
    const fingerprint = await localStorage.fingerprint(golden);
    // What the cache would hold had the image been edited with its times put back: the old content's checksum.
    const stale = "0".repeat(64);
    await rememberChecksum(fingerprintKey(fingerprint), "sha256", stale);
    const actual = createHash("sha256").update(readFileSync(golden)).digest("hex");
    expect(await parentChecksumOf(golden, fingerprint, "fixed")).toBe(used ? stale : actual);
  });
});
