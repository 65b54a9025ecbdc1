/**
 * What the parent looks like now: fingerprint, unique id, size and SHA-256, computed as rarely as correctness allows.
 *
 * - Across runs: a checksum is remembered by file fingerprint on this machine (checksum-cache.ts), so an unchanged
 *   parent is not hashed again (a no-change preview hashes 0 bytes).
 * - Within one run: every disk off the same parent shares one inspection and one checksum ({@link OncePerKey}, keyed
 *   by fingerprint, so a parent that changes during the run is hashed again).
 */
import { cachedChecksum, rememberChecksum } from "../checksum/checksum-cache";
import { recordHash } from "../checksum/hash-stats";
import { sha256File } from "../checksum/sha256";
import { type FileFingerprint, fingerprintFile, fingerprintKey } from "../fs/file-fingerprint";
import { errnoCode, vhdErrorFromFs } from "../fs/fs-error";
import { checkParent } from "../inputs/validate";
import { OncePerKey } from "./once-per-key";
import type { AncestorObservation, Ancestors, DiskTypeName, ParentObservation } from "./state";

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
  diskType: DiskTypeName;
  /** Absolute paths of the disk's own ancestors, nearest first (as its chain resolves). */
  chain: string[];
}

const identities = new OncePerKey<ParentIdentity>();
const checksums = new OncePerKey<string>();

/** Options of {@link observeParent}. */
export interface ObserveParentOptions {
  /** Compute (or recall) SHA-256s; with `false` the observation's checksums are `null`. */
  checksum: boolean;
}

/**
 * Observes the parent at `parentPath` (absolute) and the disks above it. A missing parent gives {@link NO_PARENT};
 * an unreadable one or a file that is not a VHD rejects with the engine's `VhdError`.
 */
export async function observeParent(parentPath: string, options: ObserveParentOptions): Promise<ParentObservation> {
  const parent = await observeDisk(parentPath, options.checksum);
  if (parent === null) return NO_PARENT;
  const ancestors: Ancestors = {};
  for (const ancestorPath of (await parentIdentity(parentPath, parent.fingerprint)).chain) {
    const ancestor = await observeDisk(ancestorPath, options.checksum);
    if (ancestor !== null) ancestors[ancestorPath] = ancestor;
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
async function observeDisk(diskPath: string, checksum: boolean): Promise<AncestorObservation | null> {
  let fingerprint: FileFingerprint;
  try {
    fingerprint = await fingerprintFile(diskPath);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return null;
    throw vhdErrorFromFs(error, { parameter: "parentPath", path: diskPath, action: "look at the disk" });
  }
  const { uniqueId } = await parentIdentity(diskPath, fingerprint);
  const sha256 = checksum ? await parentChecksumOf(diskPath, fingerprint) : null;
  return { uniqueId, size: fingerprint.size, checksum: sha256, fingerprint };
}

/** A disk's unique id, type and chain, read once per fingerprint in this process. */
export function parentIdentity(parentPath: string, fingerprint: FileFingerprint): Promise<ParentIdentity> {
  return identities.get(`${parentPath}\u0000${fingerprintKey(fingerprint)}`, async () => {
    // The contract's parent checks, so a parent that is a folder or not a VHD is reported against parentPath.
    const info = await checkParent(parentPath);
    return { uniqueId: info.uniqueId, diskType: info.type, chain: info.chain.map((entry) => entry.path) };
  });
}

/**
 * The parent's SHA-256: recalled for its fingerprint, else computed (and recorded for the statistics), once per
 * fingerprint in this process.
 */
export function parentChecksumOf(parentPath: string, fingerprint: FileFingerprint): Promise<string> {
  const key = fingerprintKey(fingerprint);
  return checksums.get(key, async () => {
    const recalled = await cachedChecksum(key);
    if (recalled !== undefined) return recalled;
    const { sha256, bytes } = await sha256File(parentPath, { parameter: "parentPath" });
    recordHash(parentPath, bytes);
    await rememberChecksum(key, sha256);
    return sha256;
  });
}
