/**
 * The one place for MS-VHDX offset and size arithmetic: the fixed header section, the chunk ratio, the BAT's
 * interleaving of payload and sector bitmap entries, the bitmap slice of a block, BAT entry packing, and the layout
 * this package writes. Pure numbers; sizes in bytes unless a name says otherwise.
 *
 * File map of what we create (MS-VHDX §2.1 allows any order of 1 MiB-aligned regions; this is openvmm's and
 * DiscUtils' order, docs/vhdx-format.md §8 step 5):
 * ```
 * 0        file identifier (64 KiB) · header 1 @64 KiB · header 2 @128 KiB · region tables @192/256 KiB
 * 1 MiB    log (1 MiB, zeroed, LogGuid 0)
 * 2 MiB    metadata region (1 MiB: 64 KiB table, then the items)
 * 3 MiB    BAT (S x (CR + 1) entries, rounded up to 1 MiB)
 * then     sector bitmap blocks (children) and payload blocks, each 1 MiB-aligned
 * ```
 */

export const KIB = 1024;
export const MIB = 1024 * KIB;

/** The header section: identifier, two headers, two region tables (§2.2). */
export const HEADER_SECTION_SIZE = MIB;
export const HEADER_OFFSETS = [64 * KIB, 128 * KIB] as const;
export const REGION_TABLE_OFFSETS = [192 * KIB, 256 * KIB] as const;
export const REGION_TABLE_SIZE = 64 * KIB;
/** At most 2047 entries in a region table or the metadata table (§2.2.3.1, §2.6.1.1). */
export const MAX_TABLE_ENTRIES = 2047;
/** The metadata table occupies the first 64 KiB of its region; items start at or after it (§2.6.1). */
export const METADATA_TABLE_SIZE = 64 * KIB;
/** Largest metadata item (§2.6.1.2). */
export const MAX_METADATA_ITEM = MIB;
/** Log sectors are 4 KiB (§2.3). */
export const LOG_SECTOR_SIZE = 4 * KIB;
/** Every region and block is aligned to 1 MiB (§2.1); BAT offsets count in MiB (§2.5.1). */
export const ALIGNMENT = MIB;
/** A sector bitmap block is 1 MiB and covers one chunk of 2^23 sectors (§2.4). */
export const SECTOR_BITMAP_BLOCK_SIZE = MIB;
const SECTORS_PER_CHUNK = 2 ** 23;

export const MIN_BLOCK_SIZE = MIB;
export const MAX_BLOCK_SIZE = 256 * MIB;
/** 64 TB, the virtual size limit (§2.6.2.2). */
export const VHDX_MAX_VIRTUAL_SIZE = 64 * 1024 ** 4;
export const SECTOR_SIZES = [512, 4096] as const;

/** BAT entry states (§2.5.1.1, §2.5.1.2); 4 and 5 are reserved (5 was UNMAPPED in the 0.95 draft). */
export const BAT_STATE = {
  notPresent: 0,
  undefined: 1,
  zero: 2,
  unmapped: 3,
  fullyPresent: 6,
  partiallyPresent: 7,
} as const;
/** The sector bitmap entry state that means its block is in the file (§2.5.1.2). */
export const SB_BLOCK_PRESENT = 6;

/** What the interleaved BAT arithmetic needs about a disk. */
export interface BatGeometry {
  /** Bytes of virtual disk. */
  virtualSize: number;
  /** Payload block size in bytes (power of two, 1-256 MiB). */
  blockSize: number;
  /** 512 or 4096. */
  logicalSectorSize: number;
}

/** Payload blocks per sector bitmap block: (2^23 x logical sector size) / block size (§2.4). */
export function chunkRatio({ blockSize, logicalSectorSize }: BatGeometry): number {
  return (SECTORS_PER_CHUNK * logicalSectorSize) / blockSize;
}

/** Payload blocks of the disk, N = ceil(size / block size) (§2.5). */
export function payloadBlockCount({ virtualSize, blockSize }: BatGeometry): number {
  return Math.ceil(virtualSize / blockSize);
}

/** Sector bitmap blocks (chunks), S = ceil(N / CR) (§2.5). */
export function chunkCount(geometry: BatGeometry): number {
  return Math.ceil(payloadBlockCount(geometry) / chunkRatio(geometry));
}

/**
 * BAT entries a reader needs: fixed and dynamic N + floor((N - 1) / CR), differencing S x (CR + 1) (§2.5, the 1.00
 * text; docs/vhdx-format.md §4 on the transcription that reads N + S).
 */
export function requiredBatEntries(geometry: BatGeometry, differencing: boolean): number {
  const blocks = payloadBlockCount(geometry);
  const ratio = chunkRatio(geometry);
  if (differencing) return chunkCount(geometry) * (ratio + 1);
  return blocks === 0 ? 0 : blocks + Math.floor((blocks - 1) / ratio);
}

/** The BAT region length we write: S x (CR + 1) entries for every type, rounded up to 1 MiB (docs/vhdx-format.md §4). */
export function batRegionLength(geometry: BatGeometry): number {
  return roundUp(chunkCount(geometry) * (chunkRatio(geometry) + 1) * 8, ALIGNMENT) || ALIGNMENT;
}

/** BAT index of payload block `block`: a bitmap entry follows every CR payload entries (§2.5). */
export function payloadBatIndex(block: number, ratio: number): number {
  return block + Math.floor(block / ratio);
}

/** BAT index of chunk `chunk`'s sector bitmap entry (§2.5). */
export function sectorBitmapBatIndex(chunk: number, ratio: number): number {
  return chunk * (ratio + 1) + ratio;
}

/**
 * Where payload block `block`'s bits start in its chunk's sector bitmap block: byte `(block mod CR) x
 * sectorsPerBlock / 8`; bit i (LSB first) of the slice is the block's sector i (§2.4).
 */
export function bitmapSliceOffset(block: number, geometry: BatGeometry): number {
  return (block % chunkRatio(geometry)) * (geometry.blockSize / geometry.logicalSectorSize / 8);
}

/** A decoded BAT entry: its state and the byte offset it points at (0 when none). */
export interface BatEntry {
  state: number;
  fileOffset: number;
}

/** Decodes BAT entry `index` of `bat` (u64 LE: state in bits 0-2, FileOffsetMB in bits 20-63; §2.5.1). */
export function decodeBatEntry(bat: DataView, index: number): BatEntry {
  const low = bat.getUint32(index * 8, true);
  const high = bat.getUint32(index * 8 + 4, true);
  return { state: low & 7, fileOffset: (high * 4096 + (low >>> 20)) * MIB };
}

/** Encodes a BAT entry; `fileOffset` must be a multiple of 1 MiB (0 for states 0-3, docs/vhdx-format.md §4). */
export function encodeVhdxBatEntry({ state, fileOffset }: BatEntry): Uint8Array {
  const megabytes = fileOffset / MIB;
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, (((megabytes % 4096) << 20) | state) >>> 0, true);
  view.setUint32(4, Math.floor(megabytes / 4096), true);
  return bytes;
}

/** Rounds `value` up to a multiple of `unit`. */
export function roundUp(value: number, unit: number): number {
  return Math.ceil(value / unit) * unit;
}

/** Where we put the log, the metadata region and the BAT, and where blocks may start. */
export interface FilePlan {
  logOffset: number;
  logLength: number;
  metadataOffset: number;
  metadataLength: number;
  batOffset: number;
  batLength: number;
  /** First byte after the fixed regions: sector bitmap and payload blocks go here and after. */
  dataStart: number;
}

/** The layout of a file we create (see the file map above). */
export function planFile(geometry: BatGeometry): FilePlan {
  const batLength = batRegionLength(geometry);
  return {
    logOffset: MIB,
    logLength: MIB,
    metadataOffset: 2 * MIB,
    metadataLength: MIB,
    batOffset: 3 * MIB,
    batLength,
    dataStart: 3 * MIB + batLength,
  };
}

/** True when `value` is a power of two from 1 MiB to 256 MiB (§2.6.2.1). */
export function isValidBlockSize(value: number): boolean {
  return value >= MIN_BLOCK_SIZE && value <= MAX_BLOCK_SIZE && (value & (value - 1)) === 0;
}
