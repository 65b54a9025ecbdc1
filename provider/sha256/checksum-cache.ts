/**
 * SHA-256s of files, remembered across processes by file fingerprint (device, inode, size, mtime, ctime), so that a
 * no-change `pulumi preview` reads none of a golden image. A fingerprint changes whenever the bytes may have (the
 * kernel sets ctime on every write and nobody can set it back), so a remembered checksum is never stale.
 *
 * Why a file on this machine and not the Pulumi state: what the provider is given back from the state in `check`
 * are the old inputs, and any input that changes shows in `pulumi preview --diff`, where inode and ctime (which
 * change on every touch) are noise. A fingerprint only ever matches on the machine that took it anyway.
 *
 * That holds only where the file system keeps a real ctime, one the kernel alone sets. FAT and exFAT have no change
 * time (Linux reports the modification time, which `touch -r` sets back), squashfs and ISO 9660 store one time for
 * both, an SMB server or a FUSE daemon reports what it likes, and NTFS's change time can be set through the Windows
 * API. A golden image edited there with its mtime restored keeps its fingerprint, so on those volumes, and on any the
 * provider does not recognise, a remembered checksum is not trusted: the file is hashed again ({@link fingerprintsTrustedIn}).
 *
 * A file on a remote host (`Storage.host` set) is keyed by host, path and its fingerprint together, hashed: device
 * and inode numbers of two hosts can coincide, and the cache must not say where disks are. A remote fingerprint
 * without ctime (SFTP's attributes alone, see storage/ssh/ssh-storage.ts) is never remembered: an edit that restores
 * the mtime would go unseen, so such a file is hashed every time.
 *
 * The file holds fingerprint keys and checksums only, no paths. It lives in `$PULUMI_VHD_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/pulumi-vhd`, else `~/.cache/pulumi-vhd`. Reading or writing it never fails a deployment: a lost
 * or unreadable cache costs one more hash.
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { fingerprintKey, type FileFingerprint, type FileSystemType, type VolumeFactsOptions } from "../storage/facts";
import { makeFolders } from "../storage/folders";
import { readJsonRecord, replaceJsonRecord } from "../storage/json-record";
import { withRecordLock } from "../storage/record-lock";
// The cache describes files on this machine's view, whatever storage holds the disks: it is always local.
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";

/** The environment variable naming the cache folder. */
export const CHECKSUM_CACHE_ENV = "PULUMI_VHD_CACHE_DIR";

/** Entries kept; the oldest go first. Each is about 100 bytes. */
const MAX_ENTRIES = 2000;

function cacheFile(): string {
  const folder =
    process.env[CHECKSUM_CACHE_ENV] ||
    join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "pulumi-vhd");
  return join(folder, "checksums.json");
}

async function readEntries(file: string): Promise<Record<string, string>> {
  const parsed = await readJsonRecord(localStorage, file, "path").catch(() => null);
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
}

/**
 * The kinds of digest remembered: `sha256`, the plain file SHA-256, and `sha256-unlinked`, a differencing disk's
 * SHA-256 with its parent link masked (vhd/unlinked-checksum.ts). The same file has one of each, so the kind is part
 * of the key; the plain kind keeps the bare fingerprint key, as files written before the other kind existed have it.
 */
export type ChecksumKind = "sha256" | "sha256-unlinked";

/**
 * The cache key of the file at `path` on the host `host` (`Storage.host`; undefined: this machine) with `fingerprint`:
 * the bare `fingerprintKey` for a local file (what the cache has always held), a hash of host, path and fingerprint
 * for a remote one; `undefined` for a fingerprint too weak to trust (no ctime), which is never cached.
 */
export function checksumCacheKey(fingerprint: FileFingerprint, path: string, host: string | undefined): string | undefined {
  const key = fingerprintKey(fingerprint);
  if (host === undefined) return key;
  if (fingerprint.ctimeNs === "0") return undefined;
  return `remote:${createHash("sha256").update(`${host}\u0000${path}\u0000${key}`).digest("hex")}`;
}

function entryKey(key: string, kind: ChecksumKind): string {
  return kind === "sha256" ? key : `${kind}|${key}`;
}

/** The digest of `kind` remembered for the file fingerprint `key` (`fingerprintKey`), if any. */
export async function cachedChecksum(key: string, kind: ChecksumKind): Promise<string | undefined> {
  const sha256 = (await readEntries(cacheFile()))[entryKey(key, kind)];
  return typeof sha256 === "string" ? sha256 : undefined;
}

/**
 * Remembers the digest `sha256` of `kind` for the file fingerprint `key`. Written atomically (temp file, rename) under
 * the file's record lock; never throws.
 */
export async function rememberChecksum(key: string, kind: ChecksumKind, sha256: string): Promise<void> {
  const file = cacheFile();
  // Read, changed and replaced under the lock: a program hashing several golden images at once (and the plugins of
  // other stacks) remember concurrently, and without it each wrote back what it had read, dropping the others' entries.
  const update = async (): Promise<void> => {
    const entries = await readEntries(file);
    delete entries[entryKey(key, kind)];
    entries[entryKey(key, kind)] = sha256;
    const keys = Object.keys(entries);
    for (const old of keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES))) delete entries[old];
    await replaceJsonRecord(localStorage, file, entries, { parameter: "path" });
  };
  // Deliberately never thrown (see the module comment); replaceJsonRecord leaves no temporary file behind.
  await makeFolders(localStorage, join(file, ".."))
    .then(() => withRecordLock(localStorage, file, update, { parameter: "path" }))
    .catch(() => undefined);
}

/** The lowest rate a file is assumed to hash at (bytes per second), to bound the wait for another process's hash. */
const SLOWEST_HASH_RATE = 50 * 1024 * 1024;

/**
 * Runs `work` (compute and remember the digest of `kind` for the fingerprint `key`) as the only process of this
 * machine doing so: another process hashing the same file now (a program that started the hash when the disk was
 * declared, ops/observe-parent.ts `startParentChecksum`, and the provider's check that needs it) is waited for, and
 * `work` then finds its result in the cache. The lock is a file in the cache folder; one left by a process that
 * died is broken at once, and a holder that takes longer than a hash of `bytes` at 50 MiB/s (at least a minute) is no
 * longer waited for: `work` runs anyway. Never fails for the lock's sake: without a usable cache folder `work` runs
 * unlocked.
 */
export async function whileHashing<T>(key: string, kind: ChecksumKind, bytes: number, work: () => Promise<T>): Promise<T> {
  const file = cacheFile();
  const record = join(file, "..", `hashing-${createHash("sha256").update(entryKey(key, kind)).digest("hex").slice(0, 24)}`);
  const waitMs = Math.max(60_000, (bytes / SLOWEST_HASH_RATE) * 1000);
  let ran = false;
  try {
    await makeFolders(localStorage, join(file, ".."));
    const locked = (): Promise<T> => {
      ran = true;
      return work();
    };
    return await withRecordLock(localStorage, record, locked, { parameter: "parentPath", waitMs, staleMs: waitMs });
  } catch (error) {
    if (ran) throw error;
    return work();
  }
}

/** File systems whose ctime changes with every write and cannot be set back: a fingerprint there tells every change. */
const REAL_CTIME: ReadonlySet<FileSystemType> = new Set(["ext", "xfs", "btrfs", "zfs", "tmpfs", "ramfs", "overlay", "nfs"]);

/**
 * Whether a file fingerprint taken in `folder` of `storage` changes with every write to the file, so that a checksum
 * remembered for it may be used (see the module comment for the file systems where it does not). The question is
 * about the storage holding the fingerprinted file (the parent's), not the cache's own local folder.
 * `options.assumeFsType` overrides what the volume reports, as for `Storage.volumeFacts`. Never throws: a volume
 * that cannot be examined is not trusted.
 */
export async function fingerprintsTrustedIn(
  storage: Storage,
  folder: string,
  options: VolumeFactsOptions = {},
): Promise<boolean> {
  const facts = await storage.volumeFacts(folder, options).catch(() => null);
  return facts !== null && REAL_CTIME.has(facts.fsType);
}
