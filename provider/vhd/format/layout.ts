/**
 * Every offset and size computation of a dynamic or differencing VHD file, in one place.
 *
 * Format map of a file this project writes (SPEC "Dynamic Disk Header Format"; docs/vhd-format.md §1.1, §2, §3):
 *
 * ```
 *      0  footer copy            512 B   byte-identical to the tail footer (qemu reads this one)
 *    512  dynamic header        1024 B   footer.dataOffset = 512
 *   1536  BAT                   4 x maxTableEntries, padded to 512 with 0xFF; header.tableOffset = 1536
 *         locator data          W2ku then W2ru, 1024 B each (differencing only), right after the BAT
 *         blocks                each: sector bitmap (bitmapSize) + blockSize bytes of data; BAT[i] = sector of bitmap;
 *                               the bitmap is placed so that the data starts on a 4 KiB boundary (zeros before it)
 *  EOF-512 footer               512 B, moves to the new end whenever a block is appended
 * ```
 *
 * Reading a virtual offset: block = offset / blockSize; BAT[block] is the sector of its bitmap (or unused);
 * the data of sector s of the block is at (BAT[block] + bitmapSectors + s) x 512.
 * Files made by others differ (Hyper-V: 4 KiB-aligned regions, BAT at 0x2000, locators around it) and are read
 * through the header's own offsets, never through these constants. Blocks are placed as Hyper-V places them (dfvfs
 * `fat-differential.vhd`: bitmap at 0x13E00, data at 0x14000), so that 4 KiB guest clusters and host pages line up;
 * Windows reports a disk whose block data is not so placed as unaligned (Get-VHD's `Alignment`).
 */
import { batByteSize } from "./bat";
import { bitmapSize } from "./bitmap";
import { BAT_OFFSET, DYNAMIC_HEADER_OFFSET, FOOTER_SIZE, SECTOR_SIZE, WRITTEN_LOCATORS } from "./constants";

/** Number of BAT entries a disk of `virtualSize` needs with blocks of `blockSize`. */
export function maxTableEntriesFor(virtualSize: number, blockSize: number): number {
  return Math.ceil(virtualSize / blockSize);
}

/** Sectors of data per block. */
export function sectorsPerBlock(blockSize: number): number {
  return blockSize / SECTOR_SIZE;
}

/** Bytes a block occupies in the file: its bitmap, then its data. */
export function blockSpan(blockSize: number): number {
  return bitmapSize(blockSize) + blockSize;
}

/** File offset of a block's bitmap, from its BAT entry (a sector number). */
export function blockBitmapOffset(batEntry: number): number {
  return batEntry * SECTOR_SIZE;
}

/** The boundary every block's data starts on in a file we write (Hyper-V's choice; Get-VHD's `Alignment`). */
export const BLOCK_DATA_ALIGNMENT = 4096;

function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

/** File offset of a block's first data byte, from its BAT entry. */
export function blockDataOffset(batEntry: number, blockSize: number): number {
  return batEntry * SECTOR_SIZE + bitmapSize(blockSize);
}

/** Where a newly allocated block goes when the tail footer is at `footerOffset`: the block replaces the footer. */
export interface BlockAllocation {
  /** The BAT entry to store: the sector of the new block's bitmap. */
  batEntry: number;
  bitmapOffset: number;
  dataOffset: number;
  /** Where the footer moves to. */
  newFooterOffset: number;
}

/**
 * Plans appending a block at the current footer position (SPEC: blocks are added at the end, before the footer):
 * its bitmap goes at or after `footerOffset`, so that its data starts at the next multiple of
 * {@link BLOCK_DATA_ALIGNMENT}; the bytes skipped in between belong to no structure and must read as zeros.
 */
export function allocateBlockAt(footerOffset: number, blockSize: number): BlockAllocation {
  const bitmapBytes = bitmapSize(blockSize);
  const dataOffset = alignUp(footerOffset + bitmapBytes, BLOCK_DATA_ALIGNMENT);
  const bitmapOffset = dataOffset - bitmapBytes;
  return { batEntry: bitmapOffset / SECTOR_SIZE, bitmapOffset, dataOffset, newFooterOffset: dataOffset + blockSize };
}

/** True when the block whose BAT entry is `batEntry` has its data on a {@link BLOCK_DATA_ALIGNMENT} boundary. */
export function isBlockDataAligned(batEntry: number, blockSize: number): boolean {
  return blockDataOffset(batEntry, blockSize) % BLOCK_DATA_ALIGNMENT === 0;
}

/** Size of a file planned by {@link planDynamicFile} once every block is allocated by {@link allocateBlockAt}. */
export function fullyExpandedFileSize(plan: DynamicFilePlan, blockSize: number): number {
  if (plan.maxTableEntries === 0) return plan.emptyFileSize;
  const firstData = allocateBlockAt(plan.firstBlockOffset, blockSize).dataOffset;
  // After an aligned block's data, the next bitmap sits just before the next boundary but one: a constant stride.
  const stride = blockSize + alignUp(bitmapSize(blockSize), BLOCK_DATA_ALIGNMENT);
  return firstData + (plan.maxTableEntries - 1) * stride + blockSize + FOOTER_SIZE;
}

/** The metadata of a new dynamic or differencing file, as laid out in the format map above. */
export interface DynamicFilePlan {
  headerOffset: number;
  tableOffset: number;
  maxTableEntries: number;
  /** Bytes of the BAT including its padding. */
  batBytes: number;
  /** Offset of each locator's data area, in the order of `locatorDataSpaces`. */
  locatorOffsets: number[];
  /** First byte after all metadata: where the first block (or, while there is none, the tail footer) goes. */
  firstBlockOffset: number;
  /** Size of the file before any block is allocated. */
  emptyFileSize: number;
}

/**
 * Lays out a new file: header at 512, BAT at 1536, then one data area per locator (each `locatorDataSpaces[i]`
 * bytes, a multiple of 512), then the tail footer.
 */
export function planDynamicFile(options: {
  virtualSize: number;
  blockSize: number;
  locatorDataSpaces: readonly number[];
}): DynamicFilePlan {
  const maxTableEntries = maxTableEntriesFor(options.virtualSize, options.blockSize);
  const batBytes = batByteSize(maxTableEntries);
  const locatorOffsets: number[] = [];
  let offset = BAT_OFFSET + batBytes;
  for (const space of options.locatorDataSpaces) {
    locatorOffsets.push(offset);
    offset += space;
  }
  return {
    headerOffset: DYNAMIC_HEADER_OFFSET,
    tableOffset: BAT_OFFSET,
    maxTableEntries,
    batBytes,
    locatorOffsets,
    firstBlockOffset: offset,
    emptyFileSize: offset + FOOTER_SIZE,
  };
}

/** File size of a fixed disk of `virtualSize` bytes: its data, then the footer (SPEC "Fixed Hard Disk Image"). */
export function fixedFileSize(virtualSize: number): number {
  return virtualSize + FOOTER_SIZE;
}

/**
 * File sizes of a new dynamic (`locators` 0) or differencing (`locators` 2: W2ku and W2ru) file of `virtualSize`
 * bytes: empty (metadata only) and with every block allocated, in bytes.
 */
export function dynamicFileSizes(
  virtualSize: number,
  blockSize: number,
  locators: number,
): { initialFileSize: number; fullyExpandedSize: number } {
  const plan = planDynamicFile({
    virtualSize,
    blockSize,
    locatorDataSpaces: WRITTEN_LOCATORS.slice(0, locators).map((locator) => locator.dataSpace),
  });
  return { initialFileSize: plan.emptyFileSize, fullyExpandedSize: fullyExpandedFileSize(plan, blockSize) };
}
