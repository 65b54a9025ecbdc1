/**
 * What a new child needs from its parent: the parent's footer and file mtime, nothing else. A 2040 GiB parent has a
 * 4 MB BAT whose reading and checking would cost more than writing the whole child, so a parent with a sound tail
 * footer is not opened any further; validating the parent's header, BAT and own chain is the caller's business
 * (ops/ runs inputs/validate's `checkParent` first). Anything unusual about the footer (a stale checksum as in the
 * dfvfs samples, a head copy only, a 511-byte footer, not a VHD at all) goes through `readDiskImage` on the same
 * open file, which reads such files or says precisely what is wrong.
 */
import {
  DiskType,
  FILE_FORMAT_VERSION,
  FOOTER_COOKIE,
  FOOTER_SIZE,
  MAX_VIRTUAL_SIZE,
  SECTOR_SIZE,
  decodeFooter,
  formatUniqueId,
  type Footer,
} from "../format";
import type { ParentFacts } from "../../disk/driver";
import { readDiskImage } from "../reader/reader";
import { modifiedDate } from "../../storage/facts";
import type { RandomAccessFile, Storage } from "../../storage/port";

/** The parent facts a VHD child records. */
export interface VhdParentFacts extends ParentFacts {
  readonly format: "vhd";
  readonly footer: Footer;
}

/** True when `facts` were read by {@link readParentFacts}: a VHD parent. */
export function isVhdParentFacts(facts: ParentFacts): facts is VhdParentFacts {
  return facts.format === "vhd" && "footer" in facts;
}

const KNOWN_TYPES: readonly number[] = [DiskType.Fixed, DiskType.Dynamic, DiskType.Differencing];

/** True for a footer every reader would take as is: cookie, checksum, version, type and size all sound. */
function isSoundFooter(decoded: ReturnType<typeof decodeFooter>): boolean {
  const { footer, checksumValid } = decoded;
  return (
    checksumValid &&
    footer.cookie === FOOTER_COOKIE &&
    footer.fileFormatVersion === FILE_FORMAT_VERSION &&
    KNOWN_TYPES.includes(footer.diskType) &&
    footer.currentSize > 0 &&
    footer.currentSize <= MAX_VIRTUAL_SIZE &&
    footer.currentSize % SECTOR_SIZE === 0
  );
}

function vhdParentFacts(footer: Footer, modified: Date): VhdParentFacts {
  return { format: "vhd", footer, modified, uniqueId: formatUniqueId(footer.uniqueId), virtualSize: footer.currentSize };
}

/**
 * Reads the parent's footer and mtime on `storage`.
 * @throws the storage's open errors, `readDiskImage`'s errors (parameter `parentPath`) when the tail footer is not sound and the file cannot be
 *   read as a VHD at all.
 */
export async function readParentFacts(storage: Storage, parentPath: string): Promise<VhdParentFacts> {
  const file = await storage.open(parentPath, { parameter: "parentPath" });
  try {
    return await readParentFactsFrom(file, storage);
  } finally {
    await file.close();
  }
}

/** {@link readParentFacts} of the parent already open as `file` (the caller closes it). */
export async function readParentFactsFrom(file: RandomAccessFile, storage: Storage): Promise<VhdParentFacts> {
  const parentPath = file.path;
  // The VHD time stamp holds whole seconds: the path's facts give that without a command on a remote host. A parent
  // gone meanwhile has none, and the fingerprint's error then names it. Asked together with the footer's read, so a
  // remote host answers both in one round trip.
  const [{ modifiedMs }, tail] = await Promise.all([
    storage.pathFacts(parentPath, { followLinks: true }),
    file.size >= FOOTER_SIZE ? file.read(file.size - FOOTER_SIZE, FOOTER_SIZE) : undefined,
  ]);
  const modified = modifiedMs === undefined ? modifiedDate(await storage.fingerprint(parentPath, "parentPath")) : new Date(modifiedMs);
  if (tail !== undefined) {
    const decoded = decodeFooter(tail);
    if (isSoundFooter(decoded)) return vhdParentFacts(decoded.footer, modified);
  }
  // The same open file, read as a whole VHD: one open of the parent whatever its footer.
  const image = await readDiskImage(file, { parameter: "parentPath" });
  return vhdParentFacts(image.footer, modified);
}
