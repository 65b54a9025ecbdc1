/**
 * What the parent looks like now: fingerprint, unique id, size and SHA-256, computed as rarely as correctness allows.
 *
 * - Across runs: when the parent's fingerprint equals the one recorded with the previous inputs, the recorded unique
 *   id and checksum are reused and the parent is not read at all (a no-change preview hashes 0 bytes).
 * - Within one run: every disk off the same parent shares one inspection and one checksum ({@link OncePerKey}, keyed
 *   by fingerprint, so a parent that changes during the run is hashed again).
 */
import { recordHash } from "../checksum/hash-stats";
import { sha256File } from "../checksum/sha256";
import { type FileFingerprint, fingerprintFile, fingerprintKey, sameFingerprint } from "../fs/file-fingerprint";
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
  /** Compute (or reuse) SHA-256s; with `false` the observation's checksums are `null`. */
  checksum: boolean;
  /** The observation recorded with the previous inputs, reused where a fingerprint is unchanged. */
  previous?: Partial<ParentObservation> | undefined;
}

/**
 * Observes the parent at `parentPath` (absolute) and the disks above it. A missing parent gives {@link NO_PARENT};
 * an unreadable one or a file that is not a VHD rejects with the engine's `VhdError`.
 */
export async function observeParent(parentPath: string, options: ObserveParentOptions): Promise<ParentObservation> {
  const { previous, checksum } = options;
  const recorded: Partial<AncestorObservation> | undefined =
    previous === undefined
      ? undefined
      : {
          uniqueId: previous.parentUniqueId ?? undefined,
          checksum: previous.parentChecksum,
          fingerprint: previous.parentFingerprint ?? undefined,
        };
  const parent = await observeDisk(parentPath, recorded, checksum);
  if (parent === null) return NO_PARENT;
  const previousAncestors = isAncestors(previous?.ancestors) ? previous.ancestors : undefined;
  // An unchanged parent has the same parent locators, so the same chain: no need to open it to list its ancestors.
  const chain =
    parent.reused && previousAncestors !== undefined
      ? Object.keys(previousAncestors)
      : (await parentIdentity(parentPath, parent.fingerprint)).chain;
  const ancestors: Ancestors = {};
  for (const ancestorPath of chain) {
    const ancestor = await observeDisk(ancestorPath, previousAncestors?.[ancestorPath], checksum);
    if (ancestor !== null) ancestors[ancestorPath] = withoutReuse(ancestor);
  }
  return {
    parentUniqueId: parent.uniqueId,
    parentSize: parent.size,
    parentChecksum: parent.checksum,
    parentFingerprint: parent.fingerprint,
    ancestors,
  };
}

/** One disk observed, and whether the previous observation was reused (fingerprint unchanged). */
type DiskObservation = AncestorObservation & { reused: boolean };

/** Fingerprint, unique id and checksum of one disk, reusing `previous` when the fingerprint is unchanged. */
async function observeDisk(
  diskPath: string,
  previous: Partial<AncestorObservation> | undefined,
  checksum: boolean,
): Promise<DiskObservation | null> {
  let fingerprint: FileFingerprint;
  try {
    fingerprint = await fingerprintFile(diskPath);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return null;
    throw vhdErrorFromFs(error, { parameter: "parentPath", path: diskPath, action: "look at the disk" });
  }
  const reused = previous !== undefined && sameFingerprint(previous.fingerprint, fingerprint);
  const uniqueId =
    reused && typeof previous.uniqueId === "string"
      ? previous.uniqueId
      : (await parentIdentity(diskPath, fingerprint)).uniqueId;
  let sha256: string | null = null;
  if (checksum) {
    sha256 =
      reused && typeof previous.checksum === "string" ? previous.checksum : await parentChecksumOf(diskPath, fingerprint);
  }
  return { uniqueId, size: fingerprint.size, checksum: sha256, fingerprint, reused };
}

function withoutReuse({ reused: _reused, ...observation }: DiskObservation): AncestorObservation {
  return observation;
}

/** Narrows a value read back from the inputs (or an unknown placeholder) to an ancestors record. */
export function isAncestors(value: unknown): value is Ancestors {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A disk's unique id, type and chain, read once per fingerprint in this process. */
export function parentIdentity(parentPath: string, fingerprint: FileFingerprint): Promise<ParentIdentity> {
  return identities.get(`${parentPath}\u0000${fingerprintKey(fingerprint)}`, async () => {
    // The contract's parent checks, so a parent that is a folder or not a VHD is reported against parentPath.
    const info = await checkParent(parentPath);
    return { uniqueId: info.uniqueId, diskType: info.type, chain: info.chain.map((entry) => entry.path) };
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
