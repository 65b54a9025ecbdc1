/**
 * `inspect` for a VHDX: the format-neutral part of a {@link DiskInfo} (format, kind, sizes, sector sizes, the
 * DataWriteGuid as the unique id, the file id, the parent and chain), plus what VHDX has of the rest (the Virtual
 * Disk ID, the creator string, the locator keys). VHD-only fields (geometry, creation time) are absent: the format
 * records neither.
 */
import type { DiskChain, ParentAttempt } from "../disk/chain";
import { chainEntry, type ChainErrorInfo, type DiskInfo } from "../disk/disk-info";
import { BAT_STATE, payloadBlockCount } from "./format";
import type { VhdxImage } from "./reader";

/** Payload blocks held in the file: FULLY_PRESENT or PARTIALLY_PRESENT (§2.5.1.1). */
export function allocatedBlocks(image: VhdxImage): number {
  let count = 0;
  for (let block = 0; block < payloadBlockCount(image); block++) {
    const { state } = image.payloadEntry(block);
    if (state === BAT_STATE.fullyPresent || state === BAT_STATE.partiallyPresent) count++;
  }
  return count;
}

/**
 * The record of an open VHDX; `chain` is its resolved chain (the image its leaf), or `null` with `chainError`
 * saying why it did not resolve. Alignment is always 1: every VHDX block starts on a 1 MiB boundary (§2.5.1).
 */
export function describeVhdx(image: VhdxImage, chain: DiskChain | null, chainError: ChainErrorInfo | undefined): DiskInfo {
  const info: DiskInfo = {
    path: image.path,
    format: "vhdx",
    type: image.kind,
    virtualSize: image.virtualSize,
    logicalSectorSize: image.logicalSectorSize,
    physicalSectorSize: image.physicalSectorSize,
    uniqueId: image.uniqueId,
    fileId: image.fileId,
    virtualDiskId: image.virtualDiskId,
    creator: { application: image.creator },
    blockSize: image.blockSize,
    fileSize: image.file.size,
    allocatedBlocks: allocatedBlocks(image),
    alignment: 1,
    chain: chain === null ? [] : chain.images.slice(1).map(chainEntry),
    warnings: image.warnings.map((warning) => warning.message),
    notes: image.replayedLog.length > 0 ? [`the log holds ${image.replayedLog.length} entries, replayed in memory for reading`] : [],
  };
  const reference = image.parentReference();
  const locator = image.parentLocator;
  if (reference !== null && locator !== null) {
    const link = chain?.links[0];
    info.parent = {
      uniqueId: reference.uniqueId,
      name: reference.name.split("/").pop() ?? reference.name,
      locators: locator.entries.filter((entry) => entry.key !== "parent_linkage").map((entry) => ({ code: entry.key, path: entry.value })),
      resolvedPath: chain?.images[1]?.path ?? null,
      attempts: link?.attempts ?? ((chainError?.details["tried"] as ParentAttempt[] | undefined) ?? []),
    };
  }
  if (chainError !== undefined) info.chainError = chainError;
  return info;
}
