/** The checksum of the footer and the dynamic header (SPEC "Checksum"; docs/vhd-format.md §1.4). */

/**
 * One's complement of the sum of every byte of a structure, the 4 checksum bytes counted as zero.
 * `bytes` is the whole structure (512 or 1024 bytes); `checksumOffset` is where its checksum field is.
 */
export function vhdChecksum(bytes: Uint8Array, checksumOffset: number): number {
  let sum = 0;
  for (let index = 0; index < bytes.length; index++) {
    if (index < checksumOffset || index >= checksumOffset + 4) sum += bytes[index] ?? 0;
  }
  return ~sum >>> 0;
}

/** What a decoder found about a structure's checksum; the reader decides what a mismatch means. */
export interface ChecksumFacts {
  /** True when the stored checksum equals the computed one. */
  checksumValid: boolean;
  storedChecksum: number;
  computedChecksum: number;
}

/** Compares the checksum stored in `structure` (exactly one whole structure) with the one its bytes give. */
export function checksumFacts(structure: Uint8Array, checksumOffset: number, storedChecksum: number): ChecksumFacts {
  const computedChecksum = vhdChecksum(structure, checksumOffset);
  return { checksumValid: storedChecksum === computedChecksum, storedChecksum, computedChecksum };
}

/** Computes and stores the checksum of a freshly encoded structure, in place; returns it for chaining. */
export function stampChecksum(structure: Uint8Array, checksumOffset: number): Uint8Array {
  new DataView(structure.buffer, structure.byteOffset, structure.byteLength).setUint32(
    checksumOffset,
    vhdChecksum(structure, checksumOffset),
  );
  return structure;
}
