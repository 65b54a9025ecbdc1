/**
 * CRC-32C (Castagnoli, reflected 0x82F63B78, init and final XOR 0xFFFFFFFF), the checksum of every MS-VHDX
 * structure that has one (MS-VHDX §2: headers, region tables, log entries). The table-driven code is the `crc-32`
 * package's (pure JavaScript, no native build).
 */
import { buf as crc32cOf } from "crc-32/crc32c";

/** CRC-32C of `bytes`, as an unsigned 32-bit number ("123456789" -> 0xE3069283). */
export function crc32c(bytes: Uint8Array): number {
  return crc32cOf(bytes) >>> 0;
}

/**
 * The CRC-32C of `bytes` computed with the 4-byte checksum field at `fieldOffset` read as zero, as MS-VHDX
 * defines every checksum (§2.2.2, §2.2.3, §2.3.1.1). `bytes` is not changed.
 */
export function checksumWithFieldZeroed(bytes: Uint8Array, fieldOffset: number): number {
  const copy = Uint8Array.from(bytes);
  copy.fill(0, fieldOffset, fieldOffset + 4);
  return crc32c(copy);
}

/** Writes the checksum of `bytes` (field at `fieldOffset`, u32 LE) into `bytes`. */
export function stampCrc32c(bytes: Uint8Array, fieldOffset: number): void {
  bytes.fill(0, fieldOffset, fieldOffset + 4);
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(fieldOffset, crc32c(bytes), true);
}

/** The checksum stored in `bytes` at `fieldOffset` (u32 LE). */
export function storedChecksum(bytes: Uint8Array, fieldOffset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(fieldOffset, true);
}
