/**
 * Relinking a differencing disk to a parent at another path (`Set-VHD -ParentPath`, SetVirtualDiskInformation's
 * parent path; docs/vhd-format.md §2.2-§2.5): the dynamic header's parent unique id, parent time stamp, parent unicode
 * name and W2ku/W2ru locators are rewritten. The footer, the BAT and every data block stay as they are.
 *
 * Why the writes come in this order. The 1024-byte dynamic header spans two sectors and its checksum, in the first,
 * covers both: the id, time stamp and name sit in the first sector, the locator entries in the second. No order of
 * single-sector writes keeps it valid in place, and a torn 1024-byte write leaves a header whose checksum is wrong
 * (blktap, DiscUtils and our own writer refuse such a disk). The two footer copies, though, are one sector each and
 * say where the header is (their data offset). So the switch is made by footer writes, and the header in place is
 * rewritten only while no footer points at it. With F the old tail footer's offset and S = F + 512:
 *
 * ```
 *  1  footer copy (unchanged bytes) at the new end F2 = S + 1024 + new locator space     child: old link
 *     sync
 *  2  new header at S, its locator data right after it (nothing points there yet)         old link
 *     sync
 *  3  tail footer at F2: data offset = S                  (us, libvhdi, blktap read it)   new link
 *     sync
 *  4  head footer copy at 0: the same                     (qemu reads this one)           new link
 *     sync
 *  5  new locator data into the child's own locator areas, then the new header at its
 *     home (the old data offset); no footer points there                                 new link
 *     sync
 *  6  head footer copy: its old bytes again (data offset = home)                           new link
 *     sync
 *  7  cut the file back to F + 512: the old tail footer, never written, is last again     new link
 *     sync
 * ```
 *
 * Every write that a footer can see is one whole sector (the footers); everything longer goes where no footer
 * points, so a torn write cannot break the disk either. A crash therefore leaves a child that opens against the old
 * or the new path, with every data byte as it was; running the relink again completes it (after a crash between 3
 * and 6 the header then stays at S, a valid place readers reach through the footer, and the file keeps a few
 * unused KiB).
 */
import { VhdError } from "../../errors";
import type { RandomAccessFile } from "../../storage/random-access-file";
import { readDiskImage, type VhdImage } from "../reader/reader";
import {
  DYNAMIC_HEADER_SIZE,
  FOOTER_SIZE,
  SECTOR_SIZE,
  encodeDynamicHeader,
  encodeLocatorData,
  footerWithDataOffset,
  locatorDataSpaceBytes,
  type DynamicHeader,
  type ParentLocatorEntry,
} from "../format";
import type { ParentLink } from "./parent-link";

/** Bytes to write at a file offset. */
interface FileWrite {
  kind: "write";
  offset: number;
  bytes: Uint8Array;
}

/** One step of a relink: a write, a barrier, or cutting the file. */
export type RelinkStep = FileWrite | { kind: "sync" } | { kind: "truncate"; size: number };

/** A locator data area: where it is and how many bytes it holds. */
interface LocatorArea {
  offset: number;
  space: number;
}

/** Locator entries for `link`'s locators in `areas` (in order), and each area's new bytes (the data, zero-padded). */
function placeLocators(link: ParentLink, areas: readonly LocatorArea[]): { entries: ParentLocatorEntry[]; writes: FileWrite[] } {
  const entries: ParentLocatorEntry[] = [];
  const writes: FileWrite[] = [];
  link.locators.forEach((locator, index) => {
    const area = areas[index] as LocatorArea;
    const data = encodeLocatorData(locator.code, locator.path);
    const bytes = new Uint8Array(area.space);
    bytes.set(data);
    entries.push({
      platformCode: locator.code,
      platformDataSpace: area.space,
      platformDataLength: data.length,
      platformDataOffset: area.offset,
    });
    writes.push({ kind: "write", offset: area.offset, bytes });
  });
  return { entries, writes };
}

/**
 * The child's own locator areas that will hold `link`'s locators: each new locator takes the first unused area of
 * the child (any platform code, slot order) big enough for its data. Other locators (MacX, Wi2k, ...) are dropped.
 * @throws `ERROR_VIRTUAL_DISK_LIMITATION` when the child has no room for the new paths.
 */
function homeLocatorAreas(image: VhdImage, link: ParentLink): LocatorArea[] {
  const free = image.locators.map(({ entry }) => ({
    offset: entry.platformDataOffset,
    space: locatorDataSpaceBytes(entry.platformDataSpace) ?? entry.platformDataLength,
  }));
  return link.locators.map((locator) => {
    const needed = encodeLocatorData(locator.code, locator.path).length;
    const index = free.findIndex((area) => area.space >= needed);
    const area = free[index];
    if (area === undefined) {
      const areas = image.locators.map(({ entry }) => `${entry.platformCode}: ${entry.platformDataSpace}`).join(", ");
      throw new VhdError(
        "ERROR_VIRTUAL_DISK_LIMITATION",
        `the ${locator.code} locator of the new parent path needs ${needed} bytes, and this differencing disk has no ` +
          `locator area that large left (${areas || "none"}); use a shorter parent path`,
        { parameter: "parentPath", path: image.path, pathParameter: "imagePath", details: { locator: locator.code, needed } },
      );
    }
    free.splice(index, 1);
    return area;
  });
}

/**
 * The steps that relink the child `image` (opened strictly, with a sound tail footer) to `link`, in the order the
 * module comment explains. Pure: reads nothing, writes nothing.
 */
export function planRelink(image: VhdImage, tailFooter: Uint8Array, link: ParentLink): RelinkStep[] {
  const header = image.header as DynamicHeader;
  const home = image.footer.dataOffset as number;
  const oldTail = image.footerOffset;
  const newHeaderOffset = oldTail + FOOTER_SIZE;
  const interimAreas: LocatorArea[] = [];
  // Where the tail footer goes while the relink runs: after the new header and its locator data.
  let newTail = newHeaderOffset + DYNAMIC_HEADER_SIZE;
  for (const locator of link.locators) {
    interimAreas.push({ offset: newTail, space: locator.dataSpace });
    newTail += locator.dataSpace;
  }
  const linkFields = {
    parentUniqueId: link.parentUniqueId,
    parentTimeStamp: link.parentTimeStamp,
    parentUnicodeName: link.parentUnicodeName,
  };
  const interim = placeLocators(link, interimAreas);
  const final = placeLocators(link, homeLocatorAreas(image, link));
  const interimHeader = encodeDynamicHeader({ ...header, ...linkFields, locators: interim.entries });
  const finalHeader = encodeDynamicHeader({ ...header, ...linkFields, locators: final.entries });
  const interimBlock = new Uint8Array(newTail - newHeaderOffset);
  interimBlock.set(interimHeader);
  for (const write of interim.writes) interimBlock.set(write.bytes, write.offset - newHeaderOffset);
  const toInterim = footerWithDataOffset(tailFooter, newHeaderOffset);
  const sync: RelinkStep = { kind: "sync" };
  return [
    { kind: "write", offset: newTail, bytes: tailFooter },
    // The footer copy must be on the storage before the block below it: else a crash could leave the block, and no
    // footer, at the end of the file.
    sync,
    { kind: "write", offset: newHeaderOffset, bytes: interimBlock },
    sync,
    { kind: "write", offset: newTail, bytes: toInterim },
    sync,
    { kind: "write", offset: 0, bytes: toInterim },
    sync,
    ...final.writes,
    { kind: "write", offset: home, bytes: finalHeader },
    sync,
    { kind: "write", offset: 0, bytes: tailFooter },
    sync,
    { kind: "truncate", size: oldTail + FOOTER_SIZE },
    sync,
  ];
}

/**
 * Relinks the differencing disk open in `file` to the parent `link` describes (made by `parentLinkFor` for the
 * child's path), crash-safely as the module comment explains. Checking that the new parent is the right one is the
 * caller's business (ops/set-parent.ts). `file` stays open; the caller closes it.
 *
 * @throws `ERROR_VHD_INVALID_TYPE` (not a differencing disk), `ERROR_VHD_INVALID_FILE_SIZE` (a file that does not end
 *   in a whole 512-byte footer), `ERROR_VIRTUAL_DISK_LIMITATION` (no room for the new locators), the strict reader's
 *   errors for a damaged child, and write errors (`ERROR_DISK_FULL`, ...). Nothing is written before the checks pass.
 */
export async function relinkParent(file: RandomAccessFile, link: ParentLink): Promise<void> {
  const image = await readDiskImage(file, { strict: true, parameter: "imagePath" });
  const context = { parameter: "imagePath" as const, path: file.path };
  if (image.kind !== "differencing") {
    throw new VhdError("ERROR_VHD_INVALID_TYPE", `a ${image.kind} disk has no parent to relink; give a differencing disk`, context);
  }
  if (image.footerSource !== "tail" || file.size % SECTOR_SIZE !== 0) {
    throw new VhdError(
      "ERROR_VHD_INVALID_FILE_SIZE",
      `the file (${file.size} bytes) does not end in a whole 512-byte footer; copy it with a VHD tool first`,
      context,
    );
  }
  const tailFooter = await file.read(image.footerOffset, FOOTER_SIZE);
  for (const step of planRelink(image, tailFooter, link)) {
    if (step.kind === "write") await file.write(step.offset, step.bytes);
    else if (step.kind === "sync") await file.sync();
    else await file.truncate(step.size);
  }
}
