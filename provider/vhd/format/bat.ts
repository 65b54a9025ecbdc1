/**
 * The block allocation table (SPEC "Block Allocation Table and Data Blocks"; vhd-format.md §3): one big-endian u32
 * per block, the sector number of the block's bitmap, or UNUSED_BAT_ENTRY. Padded to a whole sector with 0xFF.
 */
import { BAT_ENTRY_SIZE, SECTOR_SIZE } from "./constants";

/** Bytes the BAT of `entries` blocks occupies on disk, padded to a whole sector. */
export function batByteSize(entries: number): number {
  return Math.ceil((entries * BAT_ENTRY_SIZE) / SECTOR_SIZE) * SECTOR_SIZE;
}

/** Decodes the first `entries` entries of `bytes` (which must hold at least `4 * entries` bytes). */
export function decodeBat(bytes: Uint8Array, entries: number): Uint32Array {
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bat = new Uint32Array(entries);
  for (let index = 0; index < entries; index++) bat[index] = data.getUint32(index * BAT_ENTRY_SIZE);
  return bat;
}

/** Encodes a BAT, padded to a whole sector with 0xFF (DiscUtils flags any other padding; qemu pads with 0xFF). */
export function encodeBat(bat: Uint32Array): Uint8Array {
  const bytes = new Uint8Array(batByteSize(bat.length)).fill(0xff);
  const data = new DataView(bytes.buffer);
  bat.forEach((entry, index) => data.setUint32(index * BAT_ENTRY_SIZE, entry));
  return bytes;
}

/** The 4 bytes of one BAT entry, for updating a single entry in place. */
export function encodeBatEntry(entry: number): Uint8Array {
  const bytes = new Uint8Array(BAT_ENTRY_SIZE);
  new DataView(bytes.buffer).setUint32(0, entry);
  return bytes;
}
