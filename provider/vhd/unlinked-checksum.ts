/**
 * The checksum a child records for a parent that is itself a differencing disk (a disk in the middle of a chain):
 * the SHA-256 of the parent's file with its parent link read as zeros, written `sha256-unlinked:<hex>`.
 *
 * Why not the plain file SHA-256: a relink (`Set-VHD -ParentPath`, relink.ts) rewrites the link of the middle disk
 * when the golden image above it moves, and the child below must stay valid through that, since what it reads did
 * not change. Any write of data into the middle disk (its blocks, BAT, footer) still changes this checksum, and so
 * does another parent unique id (that field is not masked: it decides which parent the disk reads through).
 *
 * A VHDX differencing parent masks what its relink rewrites (vhdx/reader.ts `parentLinkRanges`): the parent locator
 * item and its table entry, both headers and the log region; a data write into it changes its BAT or blocks, hence
 * this checksum (and its DataWriteGuid, which a child records apart).
 *
 * Masked (read as zeros) in a VHD, all in the dynamic header the footer points at, plus the locator data:
 * - the header's checksum, parent time stamp, parent unicode name and the 8 parent locator entries;
 * - the data area of each locator in use (its whole reserved space, as the entry gives it).
 */
import { type ByteRange, type Sha256Options, sha256File } from "../sha256/sha256";
import type { Storage } from "../storage/port";
import { openDisk } from "../disk/formats";
import type { DiskImage } from "../disk/image";

/** What an unlinked checksum starts with, so it is never mistaken for (or compared with) a plain `sha256sum`. */
export const UNLINKED_CHECKSUM_PREFIX = "sha256-unlinked:";

/** True for a checksum written by {@link unlinkedSha256} (a recorded checksum without the prefix is a plain one). */
export function isUnlinkedChecksum(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(UNLINKED_CHECKSUM_PREFIX);
}

/** The byte ranges of a differencing disk's parent link (see the module comment); none for another disk. */
export function parentLinkRanges(image: DiskImage): ByteRange[] {
  return image.parentLinkRanges();
}

/**
 * The unlinked checksum of the differencing disk at `path` (`sha256-unlinked:` + 64 hex digits), and the bytes read.
 * The file is read twice over: its headers (to find the link), then every byte. Errors: the reader's and
 * {@link sha256File}'s, naming `options.parameter` (default `parentPath`).
 */
export async function unlinkedSha256(
  path: string,
  options: Omit<Sha256Options, "zeroRanges"> & { storage?: Storage } = {},
): Promise<{ checksum: string; bytes: number }> {
  const image = await openDisk(path, { parameter: options.parameter ?? "parentPath", storage: options.storage });
  let zeroRanges: ByteRange[];
  try {
    zeroRanges = parentLinkRanges(image);
  } finally {
    await image.close();
  }
  const { sha256, bytes } = await sha256File(path, { ...options, zeroRanges });
  return { checksum: `${UNLINKED_CHECKSUM_PREFIX}${sha256}`, bytes };
}
