/**
 * The BAT of an open VHDX (MS-VHDX §2.5): its entries, each checked before it is used (§2.5.1: a known state,
 * PARTIALLY_PRESENT only in a child and only with its chunk's sector bitmap block present, every present block
 * 1 MiB-aligned after the header section, inside the file, clear of the log, the metadata and the BAT: a write into
 * a block that overlaps them would destroy the file).
 *
 * Read whole when the file is opened to be read or inspected, and then also checked across entries (no two blocks
 * overlap). Read on demand, a 4 KiB page at a time, when the file is opened for one write (writer.ts): a 64 TB disk
 * of 1 MiB blocks has a 512 MiB BAT, and a write of a few MiB needs a few of its entries. The cross-entry check is
 * then not made (it needs every entry): `vhd verify` makes it.
 */
import type { ErrorName, VhdError } from "../errors";
import type { RandomAccessFile } from "../storage/random-access-file";
import {
  ALIGNMENT,
  BAT_STATE,
  chunkRatio,
  decodeBatEntry,
  HEADER_SECTION_SIZE,
  LOG_SECTOR_SIZE,
  payloadBatIndex,
  payloadBlockCount,
  SB_BLOCK_PRESENT,
  sectorBitmapBatIndex,
  type BatEntry,
  type BatGeometry,
} from "./format";

/** A run of the file's bytes that a structure occupies. */
export interface Area {
  name: string;
  start: number;
  end: number;
}

export type Fail = (code: ErrorName, reason: string, details?: Record<string, unknown>) => VhdError;

/** What the checks of an entry need to know of the file. */
export interface BatContext {
  geometry: BatGeometry;
  hasParent: boolean;
  fileSize: number;
  /** The log, the metadata region and the BAT region: no block may overlap them. */
  reserved: readonly Area[];
  fail: Fail;
}

/** BAT entries per on-demand page: one 4 KiB sector of the region. */
const PAGE_ENTRIES = LOG_SECTOR_SIZE / 8;

/**
 * The entries of one BAT. Construct with {@link BatEntries.whole} or {@link BatEntries.onDemand}; before
 * {@link entry} is asked for an entry of an on-demand BAT, {@link load} the blocks that need it.
 */
export class BatEntries {
  private readonly pages = new Map<number, DataView>();
  private readonly checkedChunks = new Set<number>();

  private constructor(
    private readonly context: BatContext,
    private readonly source: RandomAccessFile | null,
    private readonly batOffset: number,
    private readonly count: number,
  ) {}

  /**
   * The whole BAT (`count` entries at `batOffset` of `source`), read and checked entry by entry and across
   * entries.
   * @throws `ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT` naming the first bad entry.
   */
  static async whole(source: RandomAccessFile, batOffset: number, count: number, context: BatContext): Promise<BatEntries> {
    const bytes = await source.read(batOffset, count * 8);
    const bat = new BatEntries(context, null, batOffset, count);
    bat.pages.set(0, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const placed: (Area & { index: number })[] = [];
    for (let block = 0; block < payloadBlockCount(context.geometry); block++) placed.push(...bat.checkBlock(block));
    checkNoOverlap(placed, context.fail);
    return bat;
  }

  /** A BAT whose entries are read and checked (by themselves) as {@link load} asks for them. */
  static onDemand(source: RandomAccessFile, batOffset: number, count: number, context: BatContext): BatEntries {
    return new BatEntries(context, source, batOffset, count);
  }

  /**
   * Makes the entries of payload blocks `[firstBlock, endBlock)` available (with their chunks' sector bitmap
   * entries in a child), reading the pages not yet read, and checks them.
   * @throws `ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT` naming a bad entry.
   */
  async load(firstBlock: number, endBlock: number): Promise<void> {
    if (this.source === null || endBlock <= firstBlock) return;
    const ratio = chunkRatio(this.context.geometry);
    const last = endBlock - 1;
    const endIndex = this.context.hasParent ? sectorBitmapBatIndex(Math.floor(last / ratio), ratio) + 1 : payloadBatIndex(last, ratio) + 1;
    for (let page = Math.floor(payloadBatIndex(firstBlock, ratio) / PAGE_ENTRIES); page * PAGE_ENTRIES < Math.min(endIndex, this.count); page++) {
      if (this.pages.has(page)) continue;
      const entries = Math.min(PAGE_ENTRIES, this.count - page * PAGE_ENTRIES);
      const bytes = await this.source.read(this.batOffset + page * LOG_SECTOR_SIZE, entries * 8);
      this.pages.set(page, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
    for (let block = firstBlock; block < endBlock; block++) this.checkBlock(block);
  }

  /** Entry `index` (§2.5); on demand, it must have been loaded. */
  entry(index: number): BatEntry {
    if (this.source === null) return decodeBatEntry(this.pageOf(0), index);
    return decodeBatEntry(this.pageOf(Math.floor(index / PAGE_ENTRIES)), index % PAGE_ENTRIES);
  }

  private pageOf(page: number): DataView {
    const view = this.pages.get(page);
    if (view === undefined) throw new Error(`BAT page ${page} used before it was loaded`);
    return view;
  }

  /** Checks payload block `block`'s entry by itself; returns the areas it (and a sector bitmap first met) occupies. */
  private checkBlock(block: number): (Area & { index: number })[] {
    const { geometry, hasParent, fail } = this.context;
    const ratio = chunkRatio(geometry);
    const index = payloadBatIndex(block, ratio);
    const entry = this.entry(index);
    const blockLength = Math.min(geometry.blockSize, geometry.virtualSize - block * geometry.blockSize);
    switch (entry.state) {
      case BAT_STATE.notPresent:
      case BAT_STATE.undefined:
      case BAT_STATE.zero:
      case BAT_STATE.unmapped:
      case 5: // PAYLOAD_BLOCK_UNMAPPED of the 0.95 draft; read as zeros, as qemu does
        return [];
      case BAT_STATE.fullyPresent:
        return [this.checkPlace(entry, blockLength, index)];
      case BAT_STATE.partiallyPresent: {
        if (!hasParent) throw corrupt(fail, "is PARTIALLY_PRESENT in a disk that has no parent", index);
        const areas = [this.checkPlace(entry, blockLength, index)];
        const chunk = Math.floor(block / ratio);
        if (!this.checkedChunks.has(chunk)) {
          const sbIndex = sectorBitmapBatIndex(chunk, ratio);
          const sectorBitmap = this.entry(sbIndex);
          if (sectorBitmap.state !== SB_BLOCK_PRESENT) throw corrupt(fail, `is PARTIALLY_PRESENT but its sector bitmap block (entry ${sbIndex}) is not present`, index);
          areas.push(this.checkPlace(sectorBitmap, ALIGNMENT, sbIndex));
          this.checkedChunks.add(chunk);
        }
        return areas;
      }
      default:
        throw corrupt(fail, `has the reserved state ${entry.state}`, index);
    }
  }

  private checkPlace(entry: BatEntry, length: number, index: number): Area & { index: number } {
    const { fileSize, reserved, fail } = this.context;
    const end = entry.fileOffset + length;
    if (entry.fileOffset < HEADER_SECTION_SIZE) throw corrupt(fail, `points into the header section (${entry.fileOffset})`, index);
    if (end > fileSize) throw corrupt(fail, `names bytes ${entry.fileOffset} to ${end}, past the end of the ${fileSize}-byte file`, index);
    const clash = reserved.find((area) => area.start < end && entry.fileOffset < area.end);
    if (clash !== undefined) throw corrupt(fail, `names bytes ${entry.fileOffset} to ${end}, which overlap ${clash.name}`, index);
    return { name: `entry ${index}`, start: entry.fileOffset, end, index };
  }
}

function corrupt(fail: Fail, reason: string, index: number): VhdError {
  return fail("ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT", `VHDX BAT entry ${index} ${reason}`, { batIndex: index });
}

/** No two blocks share a byte of the file. */
function checkNoOverlap(placed: (Area & { index: number })[], fail: Fail): void {
  placed.sort((a, b) => a.start - b.start);
  for (let at = 1; at < placed.length; at++) {
    const [before, after] = [placed[at - 1], placed[at]];
    if (before !== undefined && after !== undefined && after.start < before.end) {
      throw corrupt(fail, `names bytes ${after.start} to ${after.end}, which overlap the block of ${before.name}`, after.index);
    }
  }
}
