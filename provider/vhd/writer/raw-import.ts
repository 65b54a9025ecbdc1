/**
 * Copies a raw disk image (a plain byte-for-byte disk) into a new fixed or dynamic VHD, keeping it sparse: chunks
 * that are all zeros are never written (a hole in a fixed disk, an unallocated block in a dynamic one).
 */
import { VhdError } from "../../errors";
import { openChunkedFile, type ChunkedFile } from "../../storage/chunk-reader";
import type { ProgressCallback } from "../../support/progress";
import type { RandomAccessFile, Storage } from "../../storage/port";
import {
  UNUSED_BAT_ENTRY,
  allocateBlockAt,
  bitmapSize,
  encodeBat,
  sectorsPerBlock,
  setSectors,
  type DynamicFilePlan,
} from "../format";

/** Where the raw image comes from, and how to report on the copy. */
export interface RawSource {
  /** Where the raw image is. */
  storage: Storage;
  path: string;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** Opens the raw image and checks it fits a disk of `virtualSize`. */
async function openRaw(source: RawSource, chunkSize: number, virtualSize: number): Promise<ChunkedFile> {
  const raw = await openChunkedFile(source.storage, source.path, chunkSize, {
    parameter: "fromRaw",
    ...(source.onProgress && { onProgress: source.onProgress }),
    ...(source.signal && { signal: source.signal }),
  });
  if (raw.size > virtualSize) {
    await raw.close();
    throw new VhdError(
      "ERROR_VHD_INVALID_SIZE",
      `the raw image holds ${raw.size} bytes, more than the disk's ${virtualSize}; give a size of at least ${raw.size} (rounded up to 512)`,
      {
        parameter: "size",
        value: virtualSize,
        path: source.path,
        pathParameter: "fromRaw",
        details: { rawSize: raw.size, size: virtualSize },
      },
    );
  }
  return raw;
}

function isAllZero(data: Buffer, zeros: Buffer): boolean {
  return data.equals(zeros);
}

/** Copies the raw image's non-zero chunks to the same offsets of a fixed disk's data area (file offset = disk offset). */
export async function copyRawIntoFixed(
  file: RandomAccessFile,
  source: RawSource,
  virtualSize: number,
  chunkSize: number,
): Promise<void> {
  const raw = await openRaw(source, chunkSize, virtualSize);
  try {
    const zeros = Buffer.alloc(chunkSize);
    for await (const { offset, data } of raw.chunks()) {
      if (isAllZero(data, zeros)) continue;
      await file.write(offset, data.subarray(0, Math.min(chunkSize, virtualSize - offset)));
    }
  } finally {
    await raw.close();
  }
}

/** The empty dynamic file the raw image is copied into. */
export interface DynamicTarget {
  plan: DynamicFilePlan;
  blockSize: number;
  virtualSize: number;
  /** The footer, written again at the new end of the file. */
  footerBytes: Uint8Array;
}

/**
 * Appends one block per non-zero block of the raw image after the metadata of an empty dynamic file, then writes
 * the BAT and the tail footer at the new end. Bitmaps have every bit set: in a dynamic disk the whole block is data
 * (qemu writes the same).
 * @returns the offset of the tail footer.
 */
export async function copyRawIntoDynamic(file: RandomAccessFile, source: RawSource, target: DynamicTarget): Promise<number> {
  const { plan, blockSize, virtualSize, footerBytes } = target;
  const raw = await openRaw(source, blockSize, virtualSize);
  try {
    const bat = new Uint32Array(plan.maxTableEntries).fill(UNUSED_BAT_ENTRY);
    const fullBitmap = Buffer.alloc(bitmapSize(blockSize));
    setSectors(fullBitmap, 0, sectorsPerBlock(blockSize));
    const zeros = Buffer.alloc(blockSize);
    let footerOffset = plan.firstBlockOffset;
    for await (const { offset, data } of raw.chunks()) {
      if (isAllZero(data, zeros)) continue;
      const allocation = allocateBlockAt(footerOffset, blockSize);
      // The empty file's footer sits where the first block goes; alignment may leave part of it before the bitmap.
      if (footerOffset === plan.firstBlockOffset && allocation.bitmapOffset > footerOffset) {
        await file.write(footerOffset, new Uint8Array(allocation.bitmapOffset - footerOffset));
      }
      await file.write(allocation.bitmapOffset, fullBitmap);
      await file.write(allocation.dataOffset, data);
      bat[offset / blockSize] = allocation.batEntry;
      footerOffset = allocation.newFooterOffset;
    }
    await file.write(plan.tableOffset, encodeBat(bat));
    await file.write(footerOffset, footerBytes);
    return footerOffset;
  } finally {
    await raw.close();
  }
}
