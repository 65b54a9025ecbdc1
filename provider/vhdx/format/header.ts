/**
 * Codecs of the header section (MS-VHDX §2.2): the file identifier, the two headers and the region tables.
 * Decoders report facts (`checksumValid`, signature matches); the reader decides what is fatal.
 */
import { decodeLayout, encodeLayout, fieldOf, type LayoutRecord } from "../../vhd/format/field";
import { checksumWithFieldZeroed, stampCrc32c, storedChecksum } from "./crc32c";
import { REGION_TABLE_SIZE } from "./layout";
import {
  decodeEntries,
  FILE_IDENTIFIER_LAYOUT,
  HEADER_LAYOUT,
  REGION_ENTRY_LAYOUT,
  REGION_TABLE_HEADER_LAYOUT,
  SIGNATURES,
} from "./structures";

export type FileIdentifier = LayoutRecord<typeof FILE_IDENTIFIER_LAYOUT.fields>;
export type Header = LayoutRecord<typeof HEADER_LAYOUT.fields>;
export type RegionEntry = LayoutRecord<typeof REGION_ENTRY_LAYOUT.fields>;

const HEADER_CHECKSUM = fieldOf(HEADER_LAYOUT, "checksum").offset;
const REGION_CHECKSUM = fieldOf(REGION_TABLE_HEADER_LAYOUT, "checksum").offset;

/** The file identifier (§2.2.1) of the first 64 KiB, with `valid` when it starts `vhdxfile`. */
export function decodeFileIdentifier(bytes: Uint8Array): FileIdentifier & { valid: boolean } {
  const identifier = decodeLayout(FILE_IDENTIFIER_LAYOUT, bytes);
  return { ...identifier, valid: identifier.signature === SIGNATURES.file };
}

/** The 64 KiB file identifier with `creator` (at most 256 UTF-16 units). */
export function encodeFileIdentifier(creator: string): Uint8Array {
  return encodeLayout(FILE_IDENTIFIER_LAYOUT, { signature: SIGNATURES.file, creator });
}

/** A header as read: its fields, whether signature and CRC-32C hold (§2.2.2). */
export interface DecodedHeader extends Header {
  signatureValid: boolean;
  checksumValid: boolean;
}

/** Decodes a 4 KiB header. */
export function decodeHeader(bytes: Uint8Array): DecodedHeader {
  const header = decodeLayout(HEADER_LAYOUT, bytes);
  const block = bytes.subarray(0, HEADER_LAYOUT.size);
  return {
    ...header,
    signatureValid: header.signature === SIGNATURES.header,
    checksumValid: storedChecksum(block, HEADER_CHECKSUM) === checksumWithFieldZeroed(block, HEADER_CHECKSUM),
  };
}

/** Encodes a header (the `checksum` given is ignored: the CRC-32C is computed over the 4 KiB, §2.2.2). */
export function encodeHeader(header: Omit<Header, "signature" | "checksum">): Uint8Array {
  const bytes = encodeLayout(HEADER_LAYOUT, { ...header, signature: SIGNATURES.header, checksum: 0 });
  stampCrc32c(bytes, HEADER_CHECKSUM);
  return bytes;
}

/** A region table as read (§2.2.3). `entries` holds at most `entryCount` entries that fit in 64 KiB. */
export interface DecodedRegionTable {
  signatureValid: boolean;
  checksumValid: boolean;
  entryCount: number;
  entries: RegionEntry[];
}

/** Decodes a 64 KiB region table. */
export function decodeRegionTable(bytes: Uint8Array): DecodedRegionTable {
  const table = bytes.subarray(0, REGION_TABLE_SIZE);
  const header = decodeLayout(REGION_TABLE_HEADER_LAYOUT, table);
  const entries = decodeEntries(REGION_ENTRY_LAYOUT, table, REGION_TABLE_HEADER_LAYOUT.size, header.entryCount);
  return {
    signatureValid: header.signature === SIGNATURES.regionTable,
    checksumValid: storedChecksum(table, REGION_CHECKSUM) === checksumWithFieldZeroed(table, REGION_CHECKSUM),
    entryCount: header.entryCount,
    entries,
  };
}

/** Encodes a 64 KiB region table with its CRC-32C (§2.2.3). */
export function encodeRegionTable(entries: readonly RegionEntry[]): Uint8Array {
  const bytes = new Uint8Array(REGION_TABLE_SIZE);
  bytes.set(
    encodeLayout(REGION_TABLE_HEADER_LAYOUT, { signature: SIGNATURES.regionTable, checksum: 0, entryCount: entries.length }),
  );
  entries.forEach((entry, index) => {
    bytes.set(
      encodeLayout(REGION_ENTRY_LAYOUT, entry),
      REGION_TABLE_HEADER_LAYOUT.size + index * REGION_ENTRY_LAYOUT.size,
    );
  });
  stampCrc32c(bytes, REGION_CHECKSUM);
  return bytes;
}
