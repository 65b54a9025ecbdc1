/**
 * `inspect` of a VHD: the {@link DiskInfo} record (disk/disk-info.ts) filled from the footer, dynamic header, BAT and
 * locators, with the VHD-only fields (geometry, creation time, the creator's version and host); `verify.ts` judges
 * the same facts.
 */
import { chainEntry, type ChainErrorInfo, type DiskInfo } from "../disk/disk-info";
import type { DiskChain, ParentAttempt } from "../disk/chain";
import type { VhdImage } from "./reader/reader";
import {
  SECTOR_SIZE,
  dateFromVhdTimeStamp,
  forEachAllocated,
  formatUniqueId,
  isBlockDataAligned,
} from "./format";

function creatorVersion(version: number): string {
  return `${version >>> 16}.${version & 0xffff}`;
}

/** Get-VHD's `Alignment` of an open disk (see {@link DiskInfo.alignment}). */
export function alignmentOf({ header, bat }: VhdImage): 0 | 1 {
  if (header === null || bat === null) return 1;
  let unaligned = 0;
  forEachAllocated(bat, (_index, entry) => {
    if (!isBlockDataAligned(entry, header.blockSize)) unaligned++;
  });
  return unaligned === 0 ? 1 : 0;
}

/**
 * The {@link DiskInfo} of an open VHD (the VHD driver's `describe`); `chain` is its resolved chain (the image its
 * leaf), or `null` with `chainError` saying why it did not resolve.
 */
export function describeVhd(image: VhdImage, chain: DiskChain | null, chainError: ChainErrorInfo | undefined): DiskInfo {
  const { footer, header, bat } = image;
  const info: DiskInfo = {
    path: image.path,
    format: "vhd",
    type: image.kind,
    virtualSize: image.virtualSize,
    logicalSectorSize: SECTOR_SIZE,
    physicalSectorSize: SECTOR_SIZE,
    uniqueId: formatUniqueId(footer.uniqueId),
    fileId: image.fileId,
    creator: {
      application: footer.creatorApplication,
      version: creatorVersion(footer.creatorVersion),
      hostOs: footer.creatorHostOs,
    },
    geometry: { cylinders: footer.cylinders, heads: footer.heads, sectorsPerTrack: footer.sectorsPerTrack },
    blockSize: image.blockSize,
    timestamp: dateFromVhdTimeStamp(footer.timeStamp).toISOString(),
    fileSize: image.file.size,
    allocatedBlocks: bat === null ? null : forEachAllocated(bat),
    alignment: alignmentOf(image),
    chain: chain === null ? [] : chain.images.slice(1).map(chainEntry),
    warnings: image.warnings.map((warning) => warning.message),
    notes: [...image.notes],
  };
  if (image.kind === "differencing" && header !== null) {
    const link = chain?.links[0];
    info.parent = {
      uniqueId: formatUniqueId(header.parentUniqueId),
      name: header.parentUnicodeName,
      locators: image.locators.map((locator) => ({ code: locator.entry.platformCode, path: locator.path })),
      resolvedPath: chain?.images[1]?.path ?? null,
      timestamp: dateFromVhdTimeStamp(header.parentTimeStamp).toISOString(),
      attempts: link?.attempts ?? ((chainError?.details["tried"] as ParentAttempt[] | undefined) ?? []),
    };
    if (link?.timeStampDiffers) {
      info.warnings.push("the parent's modification time differs from the time stamp the child recorded (not an error)");
    }
  }
  if (chainError !== undefined) info.chainError = chainError;
  return info;
}

