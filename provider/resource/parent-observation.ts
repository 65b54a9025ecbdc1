/**
 * What the parent looks like now: fingerprint, unique id, size and SHA-256, computed as rarely as correctness allows.
 *
 * - Across runs: when the parent's fingerprint equals the one recorded with the previous inputs, the recorded unique
 *   id and checksum are reused and the parent is not read at all (a no-change preview hashes 0 bytes).
 * - Within one run: every disk off the same parent shares one inspection and one checksum ({@link OncePerKey}, keyed
 *   by fingerprint, so a parent that changes during the run is hashed again).
 */
import { sha256File } from "../checksum/sha256";
import { errnoCode, vhdErrorFromFs } from "../fs/fs-error";
import { inspectDisk } from "../vhd/inspect";
import { type FileFingerprint, fingerprintFile, fingerprintKey, sameFingerprint } from "./fingerprint";
import { recordHash } from "./hash-stats";
import { OncePerKey } from "./once-per-key";
import type { DiskTypeName, ParentObservation } from "./state";

/** The observation of a parent that does not exist (yet). */
export const NO_PARENT: ParentObservation = {
  parentUniqueId: null,
  parentSize: null,
  parentChecksum: null,
  parentFingerprint: null,
};

/** What is read from the parent's own headers. */
export interface ParentIdentity {
  /** The parent's unique id (GUID string). */
  uniqueId: string;
  /** The parent's disk type. */
  diskType: DiskTypeName;
}

const identities = new OncePerKey<ParentIdentity>();
const checksums = new OncePerKey<string>();

/** Options of {@link observeParent}. */
export interface ObserveParentOptions {
  /** Compute (or reuse) the SHA-256; with `false` the observation's checksum is `null`. */
  checksum: boolean;
  /** The observation recorded with the previous inputs, reused when the fingerprint is unchanged. */
  previous?: Partial<ParentObservation> | undefined;
}

/**
 * Observes the parent at `parentPath` (absolute). A missing parent gives {@link NO_PARENT}; an unreadable one or a
 * file that is not a VHD rejects with the engine's `VhdError`.
 */
export async function observeParent(parentPath: string, options: ObserveParentOptions): Promise<ParentObservation> {
  let fingerprint: FileFingerprint;
  try {
    fingerprint = await fingerprintFile(parentPath);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return NO_PARENT;
    throw vhdErrorFromFs(error, { parameter: "parentPath", path: parentPath, action: "look at the parent" });
  }
  const previous = options.previous;
  const unchanged = previous !== undefined && sameFingerprint(previous.parentFingerprint, fingerprint);
  const parentUniqueId =
    unchanged && typeof previous.parentUniqueId === "string"
      ? previous.parentUniqueId
      : (await parentIdentity(parentPath, fingerprint)).uniqueId;
  let parentChecksum: string | null = null;
  if (options.checksum) {
    parentChecksum =
      unchanged && typeof previous.parentChecksum === "string"
        ? previous.parentChecksum
        : await parentChecksumOf(parentPath, fingerprint);
  }
  return { parentUniqueId, parentSize: fingerprint.size, parentChecksum, parentFingerprint: fingerprint };
}

/** The parent's unique id and type, read once per fingerprint in this process. */
export function parentIdentity(parentPath: string, fingerprint: FileFingerprint): Promise<ParentIdentity> {
  return identities.get(`${parentPath}\u0000${fingerprintKey(fingerprint)}`, async () => {
    const info = await inspectDisk(parentPath);
    return { uniqueId: info.uniqueId, diskType: info.type };
  });
}

/** The parent's SHA-256, computed once per fingerprint in this process (and recorded for the statistics). */
export function parentChecksumOf(parentPath: string, fingerprint: FileFingerprint): Promise<string> {
  return checksums.get(fingerprintKey(fingerprint), async () => {
    const { sha256, bytes } = await sha256File(parentPath, { parameter: "parentPath" });
    recordHash(parentPath, bytes);
    return sha256;
  });
}
