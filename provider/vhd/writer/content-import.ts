/**
 * Copies a new base disk's content (a raw image, another disk's chain: disk/content.ts) into a fixed or dynamic VHD,
 * keeping it sparse: blocks that hold no data, or only zeros, are never written (a hole in a fixed disk, an
 * unallocated block in a dynamic one).
 */
import { blocksWithData, type BlocksWithDataOptions, type DiskContent } from "../../disk/content";
import type { RandomAccessFile } from "../../storage/port";
import {
  UNUSED_BAT_ENTRY,
  allocateBlockAt,
  bitmapSize,
  encodeBat,
  sectorsPerBlock,
  setSectors,
  type DynamicFilePlan,
} from "../format";

/**
 * Copies the content's data blocks to the same offsets of a fixed disk's data area (file offset = disk offset), in
 * pieces of `blockSize` bytes (a fixed VHD has no blocks; this is only the copy's granularity).
 */
export async function copyContentIntoFixed(
  file: RandomAccessFile,
  content: DiskContent,
  blockSize: number,
  options: BlocksWithDataOptions,
): Promise<void> {
  for await (const { index, data } of blocksWithData(content, blockSize, options)) {
    const offset = index * blockSize;
    await file.write(offset, data.subarray(0, Math.min(blockSize, options.virtualSize - offset)));
  }
}

/** The empty dynamic file the content is copied into. */
export interface DynamicTarget {
  plan: DynamicFilePlan;
  blockSize: number;
  /** The footer, written again at the new end of the file. */
  footerBytes: Uint8Array;
}

/**
 * Appends one block per data block of the content after the metadata of an empty dynamic file, then writes the BAT
 * and the tail footer at the new end. Bitmaps have every bit set: in a dynamic disk the whole block is data (qemu
 * writes the same).
 * @returns the offset of the tail footer.
 */
export async function copyContentIntoDynamic(
  file: RandomAccessFile,
  content: DiskContent,
  target: DynamicTarget,
  options: BlocksWithDataOptions,
): Promise<number> {
  const { plan, blockSize, footerBytes } = target;
  const bat = new Uint32Array(plan.maxTableEntries).fill(UNUSED_BAT_ENTRY);
  const fullBitmap = Buffer.alloc(bitmapSize(blockSize));
  setSectors(fullBitmap, 0, sectorsPerBlock(blockSize));
  let footerOffset = plan.firstBlockOffset;
  for await (const { index, data } of blocksWithData(content, blockSize, options)) {
    const allocation = allocateBlockAt(footerOffset, blockSize);
    // The empty file's footer sits where the first block goes; alignment may leave part of it before the bitmap.
    if (footerOffset === plan.firstBlockOffset && allocation.bitmapOffset > footerOffset) {
      await file.write(footerOffset, new Uint8Array(allocation.bitmapOffset - footerOffset));
    }
    await file.write(allocation.bitmapOffset, fullBitmap);
    await file.write(allocation.dataOffset, data);
    bat[index] = allocation.batEntry;
    footerOffset = allocation.newFooterOffset;
  }
  await file.write(plan.tableOffset, encodeBat(bat));
  await file.write(footerOffset, footerBytes);
  return footerOffset;
}
