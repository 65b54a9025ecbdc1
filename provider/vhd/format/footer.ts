/** The hard disk footer (SPEC "Hard Disk Footer Format"; docs/vhd-format.md §1): 512 bytes, big-endian. */
import { checksumFacts, stampChecksum, type ChecksumFacts } from "./ones-complement";
import { FOOTER_SIZE } from "./constants";
import { decodeLayout, defineLayout, encodeLayout, fieldOf, writeU64, type LayoutRecord } from "./field";

/** Field by field, as the SPEC lists them. */
export const FOOTER_LAYOUT = defineLayout("footer", FOOTER_SIZE, [
  { name: "cookie", offset: 0, size: 8, type: "ascii" },
  { name: "features", offset: 8, size: 4, type: "u32" },
  { name: "fileFormatVersion", offset: 12, size: 4, type: "u32" },
  { name: "dataOffset", offset: 16, size: 8, type: "u64OrNone" },
  { name: "timeStamp", offset: 24, size: 4, type: "u32" },
  { name: "creatorApplication", offset: 28, size: 4, type: "ascii" },
  { name: "creatorVersion", offset: 32, size: 4, type: "u32" },
  { name: "creatorHostOs", offset: 36, size: 4, type: "ascii" },
  { name: "originalSize", offset: 40, size: 8, type: "u64" },
  { name: "currentSize", offset: 48, size: 8, type: "u64" },
  { name: "cylinders", offset: 56, size: 2, type: "u16" },
  { name: "heads", offset: 58, size: 1, type: "u8" },
  { name: "sectorsPerTrack", offset: 59, size: 1, type: "u8" },
  { name: "diskType", offset: 60, size: 4, type: "u32" },
  { name: "checksum", offset: 64, size: 4, type: "u32" },
  { name: "uniqueId", offset: 68, size: 16, type: "bytes" },
  { name: "savedState", offset: 84, size: 1, type: "u8" },
  { name: "reserved", offset: 85, size: 427, type: "reserved" },
] as const);

/** Offset of the checksum field inside the footer. */
export const FOOTER_CHECKSUM_OFFSET = fieldOf(FOOTER_LAYOUT, "checksum").offset;

/** A decoded footer. The checksum is not part of it: {@link encodeFooter} computes it. */
export interface Footer {
  /** `conectix` in a valid footer. */
  cookie: string;
  /** Bit 1 always set; bit 0 = temporary disk. */
  features: number;
  /** 0x00010000 for VHD 1.0. */
  fileFormatVersion: number;
  /** Absolute offset of the dynamic header (512 in practice); `null` (all-ones) for a fixed disk. */
  dataOffset: number | null;
  /** Creation time, seconds since 2000-01-01 UTC. */
  timeStamp: number;
  /** Who made the file, 4 ASCII characters (`win `, `qemu`, `vpc `, ...; trailing NULs dropped). */
  creatorApplication: string;
  /** The creator's version, major << 16 | minor. */
  creatorVersion: number;
  /** `Wi2k` or `Mac ` (blktap writes nothing: ""). */
  creatorHostOs: string;
  /** Size at creation in bytes; libvhdi reads this one as the disk's size, so we always write currentSize here. */
  originalSize: number;
  /** The virtual disk size in bytes. */
  currentSize: number;
  /** CHS geometry (SPEC appendix). */
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
  /** A {@link DiskType} value (2, 3 or 4 in a usable disk). */
  diskType: number;
  /** 16 opaque bytes identifying the disk; compare byte for byte, never reparse (docs/vhd-format.md §2.2). */
  uniqueId: Uint8Array;
  /** 1 when the disk holds a saved VM state. */
  savedState: number;
}

// Compile-time check that Footer and the layout describe the same fields.
type FooterFields = Omit<LayoutRecord<typeof FOOTER_LAYOUT.fields>, "checksum">;
const footerMatchesLayout: [Footer, FooterFields] extends [FooterFields, Footer] ? true : never = true;
void footerMatchesLayout;

/** What decoding a footer found: the record, and the facts about its checksum (validation decides what they mean). */
export interface DecodedFooter extends ChecksumFacts {
  footer: Footer;
}

/** Decodes the first 512 bytes of `bytes` as a footer. Never validates: see the reader for that. */
export function decodeFooter(bytes: Uint8Array): DecodedFooter {
  const { checksum, ...footer } = decodeLayout(FOOTER_LAYOUT, bytes);
  return { footer, ...checksumFacts(bytes.subarray(0, FOOTER_SIZE), FOOTER_CHECKSUM_OFFSET, checksum) };
}

/** Encodes a footer into 512 new bytes, checksum included. */
export function encodeFooter(footer: Footer): Uint8Array {
  return stampChecksum(encodeLayout(FOOTER_LAYOUT, { ...footer, checksum: 0 }), FOOTER_CHECKSUM_OFFSET);
}

/**
 * A copy of the encoded footer `bytes` whose data offset points at the dynamic header at `dataOffset`, checksum
 * restamped; every other byte kept as it was (a relink moves the header for a moment, see vhd/writer/relink.ts).
 */
export function footerWithDataOffset(bytes: Uint8Array, dataOffset: number): Uint8Array {
  const copy = Uint8Array.from(bytes.subarray(0, FOOTER_SIZE));
  writeU64(new DataView(copy.buffer), fieldOf(FOOTER_LAYOUT, "dataOffset").offset, dataOffset);
  return stampChecksum(copy, FOOTER_CHECKSUM_OFFSET);
}
