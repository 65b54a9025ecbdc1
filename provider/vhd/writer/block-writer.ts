/**
 * Writing bytes into an existing VHD (SPEC "Block Allocation Table and Data Blocks"; docs/vhd-format.md §3, §6).
 *
 * A fixed disk is written in place. In a dynamic or differencing disk the write is widened to whole bitmap bytes
 * (8 sectors = 4 KiB) and the widened edges are filled with the disk's current composed bytes (read through the
 * chain, so a child copies its parent's data there): libvhdi 20210425 misreads a bitmap byte whose set bits are
 * followed by clear ones (§6), so every bitmap byte we touch becomes all ones. Missing blocks are appended from
 * where the tail footer was, their data 4 KiB-aligned (format/layout.ts); the footer moves to the new end, always as
 * 512 bytes (a 511-byte footer of a pre-2004 disk is written out whole, its missing reserved byte zero).
 *
 * Order of writes, so that a crash at any point leaves a readable disk whose BAT only points at complete blocks:
 * the footer at the new end first, then each block's data, its bitmap, and last its BAT entry; then fsync.
 */
import { VhdError } from "../../errors";
import { throwIfCancelled } from "../../support/cancellation";
import { localStorage } from "../../storage/local/local-storage";
import type { Storage } from "../../storage/port";
import { openChain } from "../../disk/chain";
import { checkWriteRange } from "../../disk/write-range";
import { openDiskImage, type VhdImage } from "../reader/reader";
import {
  BAT_ENTRY_SIZE,
  FOOTER_SIZE,
  SECTOR_SIZE,
  UNUSED_BAT_ENTRY,
  allocateBlockAt,
  bitmapSize,
  blockBitmapOffset,
  blockDataOffset,
  encodeBatEntry,
  setSectors,
  type DynamicHeader,
} from "../format";

/** Bytes one bitmap byte covers: the unit every write into a sparse disk is widened to. */
export const BITMAP_BYTE_SPAN = 8 * SECTOR_SIZE;
/** The largest BAT entry: sector numbers are u32 and all-ones means "unused" (why 2040 GiB is the limit, §5). */
const MAX_BAT_ENTRY = UNUSED_BAT_ENTRY - 1;

/** Options of {@link writeAt}. */
/** Options and result of {@link writeAt}: the seam's, as every driver's `writeAt` takes them (disk/driver.ts). */
export type { WriteAtOptions, WriteAtResult } from "../../disk/driver";
import type { WriteAtOptions, WriteAtResult } from "../../disk/driver";

/** One block's share of a write. */
interface BlockWrite {
  blockIndex: number;
  batEntry: number;
  /** True when this write appends the block (its BAT entry was unused). */
  appended: boolean;
  /** Virtual byte range inside this block, whole bitmap bytes. */
  start: number;
  end: number;
}

/**
 * `data` at `offset` widened to whole bitmap bytes (clipped to the disk's end), the edges holding the bytes the disk
 * shows there now.
 */
async function widenToBitmapBytes(
  storage: Storage,
  image: VhdImage,
  offset: number,
  data: Uint8Array,
): Promise<{ start: number; bytes: Uint8Array }> {
  const end = offset + data.length;
  const start = Math.floor(offset / BITMAP_BYTE_SPAN) * BITMAP_BYTE_SPAN;
  const widenedEnd = Math.min(Math.ceil(end / BITMAP_BYTE_SPAN) * BITMAP_BYTE_SPAN, image.virtualSize);
  if (start === offset && widenedEnd === end) return { start, bytes: data };
  const chain = await openChain(image.path, { parameter: image.file.parameter, storage });
  try {
    const head = await chain.read(start, offset - start);
    const tail = await chain.read(end, widenedEnd - end);
    return { start, bytes: Buffer.concat([head, data, tail]) };
  } finally {
    await chain.close();
  }
}

/** The blocks a write touches, and where the tail footer ends up. */
interface BlockPlan {
  blocks: BlockWrite[];
  footerOffset: number;
}

/** Splits `[start, end)` by block and gives each unallocated block its place at the end of the file. */
function planBlocks(image: VhdImage, blockSize: number, bat: Uint32Array, start: number, end: number): BlockPlan {
  const blocks: BlockWrite[] = [];
  let footerOffset = image.footerOffset;
  for (let position = start; position < end; ) {
    const blockIndex = Math.floor(position / blockSize);
    const blockEnd = Math.min((blockIndex + 1) * blockSize, end);
    let batEntry = bat[blockIndex] ?? UNUSED_BAT_ENTRY;
    const appended = batEntry === UNUSED_BAT_ENTRY;
    if (appended) {
      const allocation = allocateBlockAt(footerOffset, blockSize);
      if (allocation.batEntry > MAX_BAT_ENTRY) {
        throw new VhdError(
          "ERROR_VHD_BLOCK_ALLOCATION_FAILURE",
          `block ${blockIndex} would start at sector ${allocation.batEntry}, beyond what a 32-bit BAT entry can address`,
          { parameter: image.file.parameter, path: image.path, details: { blockIndex, sector: allocation.batEntry } },
        );
      }
      batEntry = allocation.batEntry;
      footerOffset = allocation.newFooterOffset;
    }
    blocks.push({ blockIndex, batEntry, appended, start: position, end: blockEnd });
    position = blockEnd;
  }
  return { blocks, footerOffset };
}

/** Writes into the blocks of a dynamic or differencing disk. Returns how many blocks were appended. */
async function writeBlocks(
  storage: Storage,
  image: VhdImage,
  { blockSize, tableOffset }: DynamicHeader,
  bat: Uint32Array,
  offset: number,
  data: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { file } = image;
  const widened = await widenToBitmapBytes(storage, image, offset, data);
  const { blocks, footerOffset } = planBlocks(image, blockSize, bat, widened.start, widened.start + widened.bytes.length);
  const newBlocks = blocks.filter((block) => block.appended).length;
  const firstAppended = blocks.find((block) => block.appended);
  if (firstAppended !== undefined) {
    const oldFooterOffset = image.footerOffset;
    // The footer copy moves verbatim (byte-identical to the head copy; a 511-byte one gains its zero last byte).
    await file.write(footerOffset, await file.read(oldFooterOffset, image.footerLength, new Uint8Array(FOOTER_SIZE)));
    // The old footer is overwritten by the new block or, where alignment skips bytes before it, by zeros.
    const skipped = blockBitmapOffset(firstAppended.batEntry) - oldFooterOffset;
    if (skipped > 0) await file.write(oldFooterOffset, new Uint8Array(skipped));
  }
  for (const block of blocks) {
    throwIfCancelled(signal, { parameter: image.file.parameter, path: image.path });
    const blockStart = block.blockIndex * blockSize;
    const piece = widened.bytes.subarray(block.start - widened.start, block.end - widened.start);
    await file.write(blockDataOffset(block.batEntry, blockSize) + (block.start - blockStart), piece);
    const bitmap = block.appended
      ? new Uint8Array(bitmapSize(blockSize))
      : Uint8Array.from(await image.blockBitmap(block.blockIndex, block.batEntry));
    setSectors(bitmap, (block.start - blockStart) / SECTOR_SIZE, (block.end - block.start) / SECTOR_SIZE);
    await file.write(blockBitmapOffset(block.batEntry), bitmap);
    image.invalidateBitmap(block.blockIndex);
    if (block.appended) {
      await file.write(tableOffset + block.blockIndex * BAT_ENTRY_SIZE, encodeBatEntry(block.batEntry));
      bat[block.blockIndex] = block.batEntry;
    }
  }
  return newBlocks;
}

/**
 * Writes `data` at virtual byte `offset` of the VHD at `path` (fixed, dynamic or differencing; any offset and
 * length, partial sectors included), then fsyncs. A differencing disk's parent is only read, never written.
 *
 * @throws `E_INVALIDARG` (range outside the disk), the disk's open/validation errors (it is opened strictly: a
 *   damaged disk is not written to), the chain's errors when the edges need the parent's bytes,
 *   `ERROR_VHD_BLOCK_ALLOCATION_FAILURE`, `VM_E_APP_SHUTTING_DOWN`, write errors (`ERROR_DISK_FULL`, ...).
 */
export async function writeAt(
  path: string,
  offset: number,
  data: Uint8Array,
  options: WriteAtOptions = {},
): Promise<WriteAtResult> {
  const { signal, storage = localStorage } = options;
  const context = { parameter: "path", path };
  throwIfCancelled(signal, context);
  const image = await openDiskImage(path, { writable: true, parameter: "path", storage });
  try {
    checkWriteRange(image.file, image.virtualSize, offset, data.length);
    let blocksAllocated = 0;
    if (image.header === null || image.bat === null) {
      // A fixed disk's data area is the virtual disk itself (SPEC "Fixed Hard Disk Image").
      await image.file.write(offset, data);
    } else if (data.length > 0) {
      blocksAllocated = await writeBlocks(storage, image, image.header, image.bat, offset, data, signal);
    }
    await image.file.sync();
    return { bytesWritten: data.length, blocksAllocated, fileSize: image.file.size };
  } finally {
    await image.close();
  }
}
