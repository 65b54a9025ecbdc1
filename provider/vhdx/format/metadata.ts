/**
 * Codecs of the metadata region (MS-VHDX §2.6): the table, its entries, and the parent locator's key/value list.
 * The fixed-size items decode through their layouts in `structures.ts` directly.
 */
import { decodeLayout, encodeLayout, type LayoutRecord } from "../../vhd/format/field";
import { METADATA_TABLE_SIZE } from "./layout";
import {
  decodeEntries,
  METADATA_ENTRY_LAYOUT,
  METADATA_TABLE_HEADER_LAYOUT,
  PARENT_LOCATOR_ENTRY_LAYOUT,
  PARENT_LOCATOR_HEADER_LAYOUT,
  SIGNATURES,
} from "./structures";

export type MetadataEntry = LayoutRecord<typeof METADATA_ENTRY_LAYOUT.fields>;

/** The metadata table as read: `entries` holds at most `entryCount` entries that fit in 64 KiB. */
export interface DecodedMetadataTable {
  signatureValid: boolean;
  entryCount: number;
  entries: MetadataEntry[];
}

/** Decodes the 64 KiB metadata table at the start of the metadata region (§2.6.1). */
export function decodeMetadataTable(bytes: Uint8Array): DecodedMetadataTable {
  const header = decodeLayout(METADATA_TABLE_HEADER_LAYOUT, bytes);
  const table = bytes.subarray(0, METADATA_TABLE_SIZE);
  const entries = decodeEntries(METADATA_ENTRY_LAYOUT, table, METADATA_TABLE_HEADER_LAYOUT.size, header.entryCount);
  return { signatureValid: header.signature === SIGNATURES.metadata, entryCount: header.entryCount, entries };
}

/** One item to write: its GUID, entry flags (`METADATA_FLAGS`) and bytes. */
export interface MetadataItem {
  itemId: string;
  flags: number;
  data: Uint8Array;
}

/**
 * Encodes a metadata region: the table, then the items packed from 64 KiB in the order given (§2.6.1; items need
 * no alignment). The result is 64 KiB plus the items; the region's remainder is zeros.
 */
export function encodeMetadataRegion(items: readonly MetadataItem[]): Uint8Array {
  const total = items.reduce((sum, item) => sum + item.data.length, METADATA_TABLE_SIZE);
  const bytes = new Uint8Array(total);
  bytes.set(
    encodeLayout(METADATA_TABLE_HEADER_LAYOUT, { signature: SIGNATURES.metadata, entryCount: items.length }),
  );
  let itemOffset = METADATA_TABLE_SIZE;
  items.forEach((item, index) => {
    const entry: MetadataEntry = {
      itemId: item.itemId,
      offset: itemOffset,
      length: item.data.length,
      flags: item.flags,
    };
    bytes.set(
      encodeLayout(METADATA_ENTRY_LAYOUT, entry),
      METADATA_TABLE_HEADER_LAYOUT.size + index * METADATA_ENTRY_LAYOUT.size,
    );
    bytes.set(item.data, itemOffset);
    itemOffset += item.data.length;
  });
  return bytes;
}

/** One key/value pair of a parent locator (§2.6.2.6.2). */
export interface LocatorEntry {
  key: string;
  value: string;
}

/** A parent locator as read, or why it cannot be. */
export type DecodedParentLocator =
  | { ok: true; locatorType: string; entries: LocatorEntry[] }
  | { ok: false; reason: string };

/**
 * Decodes a parent locator item: keys and values are UTF-16LE without terminator, at offsets relative to the item,
 * each non-empty and inside it; keys are unique (§2.6.2.6).
 */
export function decodeParentLocator(bytes: Uint8Array): DecodedParentLocator {
  if (bytes.length < PARENT_LOCATOR_HEADER_LAYOUT.size) return { ok: false, reason: "it is shorter than its header" };
  const header = decodeLayout(PARENT_LOCATOR_HEADER_LAYOUT, bytes);
  const tableEnd = PARENT_LOCATOR_HEADER_LAYOUT.size + header.keyValueCount * PARENT_LOCATOR_ENTRY_LAYOUT.size;
  if (tableEnd > bytes.length) return { ok: false, reason: `its ${header.keyValueCount} entries do not fit in it` };
  const text = (offset: number, length: number): string | undefined =>
    offset === 0 || length === 0 || length % 2 !== 0 || offset + length > bytes.length
      ? undefined
      : Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString("utf16le");
  const entries: LocatorEntry[] = [];
  for (let index = 0; index < header.keyValueCount; index++) {
    const at = PARENT_LOCATOR_HEADER_LAYOUT.size + index * PARENT_LOCATOR_ENTRY_LAYOUT.size;
    const entry = decodeLayout(PARENT_LOCATOR_ENTRY_LAYOUT, bytes.subarray(at));
    const key = text(entry.keyOffset, entry.keyLength);
    const value = text(entry.valueOffset, entry.valueLength);
    if (key === undefined || value === undefined) {
      return { ok: false, reason: `entry ${index} points outside the locator or is empty` };
    }
    if (entries.some((existing) => existing.key === key)) return { ok: false, reason: `key ${key} appears twice` };
    entries.push({ key, value });
  }
  return { ok: true, locatorType: header.locatorType, entries };
}

/** Encodes a parent locator item: header, entry table, then keys and values back to back (§2.6.2.6). */
export function encodeParentLocator(locatorType: string, entries: readonly LocatorEntry[]): Uint8Array {
  const strings = entries.map(({ key, value }) => [Buffer.from(key, "utf16le"), Buffer.from(value, "utf16le")] as const);
  let offset = PARENT_LOCATOR_HEADER_LAYOUT.size + entries.length * PARENT_LOCATOR_ENTRY_LAYOUT.size;
  const total = strings.reduce((sum, [key, value]) => sum + key.length + value.length, offset);
  const bytes = new Uint8Array(total);
  bytes.set(encodeLayout(PARENT_LOCATOR_HEADER_LAYOUT, { locatorType, keyValueCount: entries.length }));
  strings.forEach(([key, value], index) => {
    const entry = { keyOffset: offset, valueOffset: offset + key.length, keyLength: key.length, valueLength: value.length };
    bytes.set(
      encodeLayout(PARENT_LOCATOR_ENTRY_LAYOUT, entry),
      PARENT_LOCATOR_HEADER_LAYOUT.size + index * PARENT_LOCATOR_ENTRY_LAYOUT.size,
    );
    bytes.set(key, offset);
    bytes.set(value, offset + key.length);
    offset += key.length + value.length;
  });
  return bytes;
}
