/**
 * Relinking a differencing VHDX to its parent at another path (`Set-VHD -ParentPath`; MS-VHDX §2.6.2.6,
 * docs/vhdx-format.md §5): the parent locator item is rewritten with `parent_linkage` (the parent's DataWriteGuid),
 * `relative_path` and `absolute_win32_path`, as a new child gets them; the BAT, every block and the other metadata
 * items stay as they are.
 *
 * Crash safety: every change of the metadata region goes through the log (MS-VHDX §2.3, log-writer.ts), in ONE
 * entry: the new item's bytes, the zeros over the old item's bytes when it moves or shrinks, and the table entry's new
 * offset and length. A crash before the headers name the entry leaves the old locator; after, every reader that
 * replays (ours, qemu, Hyper-V) sees the new one. An item that no longer fits where it was goes into free space of
 * the metadata region (items may lie anywhere after the table, §2.6.1), never over another item.
 *
 * Which header GUIDs change. §2.2.2: FileWriteGuid is renewed before the first change of every write session, which
 * a relink is; DataWriteGuid only before a change of what the disk reads (its data, size, sector size). Where a
 * child's parent lives is no such change (Hyper-V itself rewrites stale locator paths when it opens a chain,
 * §2.6.2.6.3), so DataWriteGuid stays, and the disks below this one keep linking to it. Even with another parent id
 * (`-IgnoreIdMismatch`) it stays: as in Set-VHD, the caller takes on that the new parent holds the same data.
 *
 * `parent_linkage2`: the spec lets an open match either linkage key, and keeps the second for a merge in progress
 * (§2.6.2.6.3, note 12); openvmm refuses a locator carrying it. A relink sets `parent_linkage` to the parent just
 * checked, so a second linkage would only name another disk: it is dropped, unless the caller is a merge about to
 * write into that parent (vhdx/merge.ts), which records there the DataWriteGuid it will write under. A stale
 * `volume_path` is dropped too (readers try it before `absolute_win32_path`). Keys this project does not know stay
 * as they were.
 */
import { randomUUID } from "node:crypto";
import { VhdError } from "../errors";
import type { RandomAccessFile } from "../storage/random-access-file";
import { encodeLayout } from "../vhd/format/field";
import {
  encodeParentLocator,
  METADATA_ENTRY_LAYOUT,
  METADATA_ITEM_GUIDS,
  METADATA_TABLE_HEADER_LAYOUT,
  METADATA_TABLE_SIZE,
  REGION_GUIDS,
  type LocatorEntry,
  type MetadataEntry,
} from "./format";
import { commitThroughLog, sectorsPerEntry, SectorUpdates, updateHeaders } from "./log-writer";
import { bracedGuid, openForWriting } from "./writer";

/** What a relinked child records of its parent. */
export interface VhdxParentLink {
  /** The parent's current DataWriteGuid (any GUID form; written lower-case and braced). */
  dataWriteGuid: string;
  /**
   * The DataWriteGuid a merge will write the parent under (same form), recorded as `parent_linkage2` so that the
   * child links to the parent before and after its first write; none outside a merge.
   */
  nextDataWriteGuid?: string;
  /** The locator paths, in the form a new child gets them (driver.ts `locatorPaths`). */
  relativePath: string;
  absoluteWin32Path: string;
}

/** The locator keys a relink writes or drops; any other key is kept. */
const LINK_KEYS: readonly string[] = ["parent_linkage", "parent_linkage2", "relative_path", "volume_path", "absolute_win32_path"];

/** The new locator's entries: the link's keys first, in the order a new child has them, then the unknown keys kept. */
function relinkedEntries(old: readonly LocatorEntry[], link: VhdxParentLink): LocatorEntry[] {
  return [
    { key: "parent_linkage", value: bracedGuid(link.dataWriteGuid) },
    ...(link.nextDataWriteGuid === undefined ? [] : [{ key: "parent_linkage2", value: bracedGuid(link.nextDataWriteGuid) }]),
    { key: "relative_path", value: link.relativePath },
    { key: "absolute_win32_path", value: link.absoluteWin32Path },
    ...old.filter((entry) => !LINK_KEYS.includes(entry.key)),
  ];
}

/**
 * Where in the metadata region (offsets from its start) an item of `length` bytes goes, replacing `item`: its own
 * place when it fits there with the free space after it, else the first free run after the table that holds it.
 * @returns the offset, or null when no free run is long enough.
 */
function placeItem(entries: readonly MetadataEntry[], item: MetadataEntry, length: number, regionLength: number): number | null {
  const taken = entries
    .filter((entry) => entry !== item && entry.length > 0)
    .map((entry) => ({ start: entry.offset, end: entry.offset + entry.length }))
    .sort((a, b) => a.start - b.start);
  const free = (start: number): boolean =>
    start >= METADATA_TABLE_SIZE && start + length <= regionLength && taken.every((span) => start + length <= span.start || span.end <= start);
  if (free(item.offset)) return item.offset;
  for (const start of [METADATA_TABLE_SIZE, ...taken.map((span) => span.end)]) if (free(start)) return start;
  return null;
}

/**
 * Points the differencing VHDX open (writable) as `file` at the parent described by `link`, crash-safely (see the
 * header comment). A live log is replayed into the file first, as before any write.
 * @param expectedDataWriteGuid the child's DataWriteGuid when the caller checked it (lower-case, dashed): another
 *   means the file changed since, and nothing is written.
 * @throws `ERROR_VHD_INVALID_TYPE` (not a differencing disk), `ERROR_ACCESS_DENIED` (the file changed since the
 *   check), `ERROR_VIRTUAL_DISK_LIMITATION` (no room for the new locator in the metadata region, or a log too small
 *   for the change in one entry), the reader's errors, I/O errors.
 */
export async function relinkVhdx(file: RandomAccessFile, link: VhdxParentLink, expectedDataWriteGuid: string): Promise<void> {
  const { image, headers } = await openForWriting(file);
  const context = { parameter: "imagePath" as const, path: file.path };
  const locator = image.parentLocator;
  if (locator === null) throw new VhdError("ERROR_VHD_INVALID_TYPE", `a ${image.kind} disk has no parent to set; give a differencing disk`, context);
  if (image.uniqueId !== expectedDataWriteGuid) {
    throw new VhdError("ERROR_ACCESS_DENIED", "the disk was written or replaced while it was being checked; run again", context);
  }
  const region = image.regions.find((entry) => entry.guid === REGION_GUIDS.metadata);
  const index = image.metadataEntries.findIndex((entry) => entry.itemId === METADATA_ITEM_GUIDS.parentLocator);
  const item = image.metadataEntries[index];
  if (region === undefined || item === undefined) throw new Error("an open differencing VHDX has a metadata region with a parent locator");
  const bytes = encodeParentLocator(locator.locatorType, relinkedEntries(locator.entries, link));
  const offset = placeItem(image.metadataEntries, item, bytes.length, region.length);
  if (offset === null) {
    throw new VhdError(
      "ERROR_VIRTUAL_DISK_LIMITATION",
      `the new parent locator (${bytes.length} bytes) finds no free room in the ${region.length}-byte metadata region; give the parent a shorter path`,
      context,
    );
  }
  const updates = new SectorUpdates(file);
  // The old item's bytes read as free space again (zeros), whether the new one moves or is shorter.
  await updates.write(region.fileOffset + item.offset, new Uint8Array(item.length));
  await updates.write(region.fileOffset + offset, bytes);
  const entry: MetadataEntry = { ...item, offset, length: bytes.length };
  await updates.write(region.fileOffset + METADATA_TABLE_HEADER_LAYOUT.size + index * METADATA_ENTRY_LAYOUT.size, encodeLayout(METADATA_ENTRY_LAYOUT, entry));
  if (updates.size > sectorsPerEntry(headers.header.logLength)) {
    throw new VhdError(
      "ERROR_VIRTUAL_DISK_LIMITATION",
      `the relink changes ${updates.size} metadata sectors, more than one entry of this file's ${headers.header.logLength}-byte log holds`,
      context,
    );
  }
  // The session's FileWriteGuid and the log's LogGuid in one header update, as writeVhdxAt names them: four header
  // writes in all (this, and the LogGuid cleared after the commit), not six.
  const session = await updateHeaders(file, headers, { fileWriteGuid: randomUUID(), logGuid: randomUUID() });
  await commitThroughLog(file, session, updates);
}
