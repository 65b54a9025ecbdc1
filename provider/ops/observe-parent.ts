/**
 * What the parent looks like now: fingerprint, unique id, size and SHA-256, computed as rarely as correctness allows.
 *
 * - Across runs: a checksum is remembered by file fingerprint on this machine (checksum-cache.ts), so an unchanged
 *   parent is not hashed again (a no-change preview hashes 0 bytes).
 * - Within one run: every disk off the same parent shares one inspection and one checksum ({@link OncePerKey}, keyed
 *   by fingerprint, so a parent that changes during the run is hashed again).
 *
 * The checksum recorded for a disk depends on its kind: the plain file SHA-256 for a base disk (what users compare
 * with a published sum), the unlinked checksum for a differencing disk (vhd/unlinked-checksum.ts), which a relink of
 * that disk leaves as it was, so the disks below a relinked disk stay valid.
 */
import { dirname } from "node:path";
import { type ChecksumKind, cachedChecksum, checksumCacheKey, fingerprintsTrustedIn, rememberChecksum, whileHashing } from "../sha256/checksum-cache";
import { recordHash } from "../sha256/hash-stats";
import { sha256File } from "../sha256/sha256";
import { isVhdError } from "../errors";
import { type FileFingerprint, fingerprintKey, isNotFound } from "../storage/facts";
import type { Storage } from "../storage/port";
import { checkParent } from "../inputs/validate";
import { identifyDisk } from "../vhd/disk-identity";
import { unlinkedSha256 } from "../vhd/unlinked-checksum";
import { OncePerKey } from "./once-per-key";
import type { DiskKind } from "../disk/image";

/** One disk further up the chain than the parent (its parent, and so on), as observed. */
export interface AncestorObservation {
  /** The disk's unique id. */
  uniqueId: string;
  /** Its file size in bytes. */
  size: number;
  /** SHA-256 of its bytes; `null` with `checksum: false`. */
  checksum: string | null;
  /** Its file fingerprint; an unchanged one means the checksum was reused, not recomputed. */
  fingerprint: FileFingerprint;
}

/** The parent's own ancestors, by absolute path, nearest first (empty when the parent is a base disk). */
export type Ancestors = Record<string, AncestorObservation>;

/** What the parent and the disks above it look like now, as observed (by `check` for a plan, by `create` to record). */
export interface ParentObservation {
  /** The parent's unique id (its footer's), as a GUID string; `null` when the parent file does not exist (yet). */
  parentUniqueId: string | null;
  /** The parent's file size in bytes; `null` when it does not exist. */
  parentSize: number | null;
  /** SHA-256 of the parent's bytes; `null` with `checksum: false` or when it does not exist. */
  parentChecksum: string | null;
  /** The parent's file fingerprint; `null` when it does not exist. */
  parentFingerprint: FileFingerprint | null;
  /** The disks above the parent, by absolute path; `null` when the parent does not exist. */
  ancestors: Ancestors | null;
}

/** The observation of a parent that does not exist (yet). */
export const NO_PARENT: ParentObservation = {
  parentUniqueId: null,
  parentSize: null,
  parentChecksum: null,
  parentFingerprint: null,
  ancestors: null,
};

/** What is read from a disk's own headers. */
export interface ParentIdentity {
  /** The disk's unique id (GUID string). */
  uniqueId: string;
  /** The disk's type. */
  diskType: DiskKind;
  /** Absolute paths of the disk's own ancestors, nearest first (as its chain resolves). */
  chain: string[];
}

const identities = new OncePerKey<ParentIdentity>();
const checksums = new OncePerKey<string>();

/** Options of {@link observeParent}. */
export interface ObserveParentOptions {
  /** Compute (or recall) SHA-256s; with `false` the observation's checksums are `null`. */
  checksum: boolean;
  /** Where the parent and its chain are (this machine, or a disk's remote host). */
  storage: Storage;
}

/**
 * Observes the parent at `parentPath` (absolute) and the disks above it. A missing parent gives {@link NO_PARENT};
 * an unreadable one or a file that is not a VHD rejects with the engine's `VhdError`.
 *
 * A parent that is a differencing disk whose own parent is not where its link says (`ERROR_VHD_PARENT_VHD_NOT_FOUND`
 * above it) is observed alone, its ancestors `null` (not observed): that is the state of a chain whose golden image
 * moved, in the preview, before the earlier step that relinks the middle disk runs. The plan then rests on the parent's
 * own facts; `up` checks again once that step is done, and a new disk is only made on a parent whose chain opens.
 */
export async function observeParent(parentPath: string, options: ObserveParentOptions): Promise<ParentObservation> {
  const { storage } = options;
  const parent = await observeDisk(parentPath, options.checksum, storage);
  if (parent === null) return NO_PARENT;
  const identity = await parentIdentity(parentPath, parent.fingerprint, storage).catch((error: unknown) => {
    if (brokenAbove(error)) return null;
    throw error;
  });
  let ancestors: Ancestors | null = identity === null ? null : {};
  for (const ancestorPath of identity?.chain ?? []) {
    const ancestor = await observeDisk(ancestorPath, options.checksum, storage);
    // Gone since the chain was read (its identity is remembered per fingerprint of the parent, which a move of an
    // ancestor does not change): broken above the parent, as above.
    if (ancestor === null) ancestors = null;
    if (ancestor === null || ancestors === null) break;
    ancestors[ancestorPath] = ancestor;
  }
  return {
    parentUniqueId: parent.uniqueId,
    parentSize: parent.size,
    parentChecksum: parent.checksum,
    parentFingerprint: parent.fingerprint,
    ancestors,
  };
}

/** Fingerprint, unique id and checksum of one disk; `null` when it does not exist. */
async function observeDisk(diskPath: string, checksum: boolean, storage: Storage): Promise<AncestorObservation | null> {
  let fingerprint: FileFingerprint;
  try {
    fingerprint = await storage.fingerprint(diskPath, "parentPath");
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  const { uniqueId, diskType } = await ownIdentity(diskPath, fingerprint, storage);
  const sha256 = checksum ? await parentChecksumOf(diskPath, fingerprint, diskType, storage) : null;
  return { uniqueId, size: fingerprint.size, checksum: sha256, fingerprint };
}

/**
 * The disk's own unique id and type: from {@link parentIdentity}, or, when the disk's chain is broken above it, from
 * its footer (it is then a differencing disk: only one has a parent to miss).
 */
async function ownIdentity(diskPath: string, fingerprint: FileFingerprint, storage: Storage): Promise<Omit<ParentIdentity, "chain">> {
  try {
    return await parentIdentity(diskPath, fingerprint, storage);
  } catch (error) {
    if (!brokenAbove(error)) throw error;
    const found = await identifyDisk(diskPath, "parentPath", storage);
    if (found.kind !== "vhd") throw error;
    return { uniqueId: found.uniqueId, diskType: "differencing" };
  }
}

/**
 * True for `checkParent`'s error about a disk that opens but whose own parent (or one further up) is not found, or
 * no longer carries the id the disk links to: a VHDX golden image written into gets a new DataWriteGuid (MS-VHDX
 * §2.6.2.6.3), so in the preview of that edit every disk below it is in this state until the cascade rebuilds it.
 */
function brokenAbove(error: unknown): boolean {
  return (
    isVhdError(error) &&
    (isVhdError(error.cause, "ERROR_VHD_PARENT_VHD_NOT_FOUND") || isVhdError(error.cause, "ERROR_VHD_CHILD_PARENT_ID_MISMATCH"))
  );
}

/** A disk's unique id, type and chain on `storage`, read once per host, path and fingerprint in this process. */
export function parentIdentity(parentPath: string, fingerprint: FileFingerprint, storage: Storage): Promise<ParentIdentity> {
  return identities.get(`${storage.host ?? ""}\u0000${parentPath}\u0000${fingerprintKey(fingerprint)}`, async () => {
    // The contract's parent checks, so a parent that is a folder or not a VHD is reported against parentPath.
    const info = await checkParent(parentPath, storage);
    return { uniqueId: info.uniqueId, diskType: info.type, chain: info.chain.map((entry) => entry.path) };
  });
}

/** The checksum a child records for the disk at `parentPath`: plain SHA-256 for a base disk, else unlinked. */
export function parentChecksumOf(parentPath: string, fingerprint: FileFingerprint, diskType: DiskKind, storage: Storage): Promise<string> {
  return checksumOf(parentPath, fingerprint, diskType === "differencing" ? "sha256-unlinked" : "sha256", storage);
}

/**
 * The file's plain SHA-256, whatever the disk: what state written before unlinked checksums recorded for every parent
 * (observed-inputs.ts compares it there).
 */
export function plainChecksumOf(diskPath: string, fingerprint: FileFingerprint, storage: Storage): Promise<string> {
  return checksumOf(diskPath, fingerprint, "sha256", storage);
}

/**
 * A checksum of `kind`: recalled for the file's fingerprint (on a volume where fingerprints tell every change), else
 * computed (and recorded for the statistics), once per fingerprint and kind in this process.
 */
function checksumOf(diskPath: string, fingerprint: FileFingerprint, kind: ChecksumKind, storage: Storage): Promise<string> {
  const key = checksumCacheKey(fingerprint, diskPath, storage.host);
  const hash = async (): Promise<string> => {
    const started = performance.now();
    const { checksum, bytes } =
      kind === "sha256"
        ? await sha256File(diskPath, { parameter: "parentPath", storage }).then(({ sha256, bytes }) => ({ checksum: sha256, bytes }))
        : await unlinkedSha256(diskPath, { parameter: "parentPath", storage });
    recordHash(storage.host === undefined ? diskPath : `${storage.host}${diskPath}`, bytes, performance.now() - started);
    return checksum;
  };
  const compute = async (): Promise<string> => {
    // Where a fingerprint can stay the same across an edit (checksum-cache.ts), nothing is recalled or remembered.
    const trusted = key !== undefined && (await fingerprintsTrustedIn(storage, dirname(diskPath)));
    if (!trusted) return hash();
    const recalled = await cachedChecksum(key, kind);
    if (recalled !== undefined) return recalled;
    // Another process may be hashing this file now (the program, see startParentChecksum): its result, not a second hash.
    return whileHashing(key, kind, fingerprint.size, async () => {
      const remembered = await cachedChecksum(key, kind);
      if (remembered !== undefined) return remembered;
      const checksum = await hash();
      await rememberChecksum(key, kind, checksum);
      return checksum;
    });
  };
  return key === undefined ? compute() : checksums.get(`${kind}|${key}`, compute);
}

/**
 * Starts observing a local parent, checksums included, in this process, and returns at once: for the program, which
 * knows a disk's parent when the disk is declared, about the plugin's start-up time before the provider's first
 * `check` needs the checksum. The checksums go to the checksum cache under its hashing lock ({@link checksumOf}), where
 * that `check` waits for them instead of hashing again; on a volume whose fingerprints the cache does not trust,
 * nothing is started (the check would hash anyway). Nothing is reported: a parent that is missing or not a disk is
 * the check's to report.
 */
export function startParentChecksum(parentPath: string, storage: Storage): void {
  void fingerprintsTrustedIn(storage, dirname(parentPath))
    .then((trusted) => (trusted ? observeParent(parentPath, { checksum: true, storage }) : undefined))
    .catch(() => undefined);
}
