/**
 * Block sector bitmaps (SPEC "Block Allocation Table and Data Blocks"; docs/vhd-format.md §3). One bit per sector of a
 * block, most significant bit first: sector i is bit `0x80 >> (i % 8)` of byte `i / 8` (VirtualBox: "the most
 * significant bit stands for a lower sector number"). In a differencing disk a set bit means the child holds the
 * sector; a clear bit means read it from the parent.
 */
import { SECTOR_SIZE } from "./constants";

/** Bytes of the bitmap in front of each block: one bit per sector, rounded up to whole sectors. */
export function bitmapSize(blockSize: number): number {
  const bytes = Math.ceil(blockSize / SECTOR_SIZE / 8);
  return Math.ceil(bytes / SECTOR_SIZE) * SECTOR_SIZE;
}

/** True when sector `sector` (within its block) is marked in `bitmap`. */
export function isSectorSet(bitmap: Uint8Array, sector: number): boolean {
  return ((bitmap[sector >>> 3] ?? 0) & (0x80 >>> (sector & 7))) !== 0;
}

/** Marks sectors `first .. first + count - 1` in `bitmap`, in place. */
export function setSectors(bitmap: Uint8Array, first: number, count: number): void {
  let sector = first;
  const end = first + count;
  while (sector < end) {
    const byteIndex = sector >>> 3;
    if ((sector & 7) === 0 && end - sector >= 8) {
      bitmap[byteIndex] = 0xff;
      sector += 8;
    } else {
      bitmap[byteIndex] = (bitmap[byteIndex] ?? 0) | (0x80 >>> (sector & 7));
      sector++;
    }
  }
}

/**
 * How many sectors from `first` (up to `limit`, exclusive) share the state of sector `first`. The chain reader uses
 * it to turn a bitmap into runs, so a run becomes one read however many sectors it has; whole bytes of 0x00/0xFF
 * are skipped eight sectors at a time.
 */
export function sectorRunLength(bitmap: Uint8Array, first: number, limit: number): number {
  const set = isSectorSet(bitmap, first);
  const uniformByte = set ? 0xff : 0x00;
  let sector = first + 1;
  while (sector < limit) {
    if ((sector & 7) === 0 && sector + 8 <= limit && bitmap[sector >>> 3] === uniformByte) {
      sector += 8;
    } else if (isSectorSet(bitmap, sector) === set) {
      sector++;
    } else {
      break;
    }
  }
  return sector - first;
}
