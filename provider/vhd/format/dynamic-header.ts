/**
 * The dynamic disk header (SPEC "Dynamic Disk Header Format"; docs/vhd-format.md §2): 1024 bytes at footer.dataOffset,
 * big-endian, shared by dynamic and differencing disks (the parent fields are zero in a dynamic one).
 */
import { VhdError } from "../../errors";
import { checksumFacts, stampChecksum, type ChecksumFacts } from "./ones-complement";
import { DYNAMIC_HEADER_SIZE, LOCATOR_ENTRY_SIZE, LOCATOR_SLOTS } from "./constants";
import { decodeLayout, defineLayout, encodeLayout, fieldOf, type LayoutRecord } from "./field";
import { decodeLocatorEntry, encodeLocatorEntry, type ParentLocatorEntry } from "./locator";

/** Field by field, as the SPEC lists them; the 8 locator entries are decoded with LOCATOR_ENTRY_LAYOUT. */
export const DYNAMIC_HEADER_LAYOUT = defineLayout("dynamic header", DYNAMIC_HEADER_SIZE, [
  { name: "cookie", offset: 0, size: 8, type: "ascii" },
  { name: "dataOffset", offset: 8, size: 8, type: "u64OrNone" },
  { name: "tableOffset", offset: 16, size: 8, type: "u64" },
  { name: "headerVersion", offset: 24, size: 4, type: "u32" },
  { name: "maxTableEntries", offset: 28, size: 4, type: "u32" },
  { name: "blockSize", offset: 32, size: 4, type: "u32" },
  { name: "checksum", offset: 36, size: 4, type: "u32" },
  { name: "parentUniqueId", offset: 40, size: 16, type: "bytes" },
  { name: "parentTimeStamp", offset: 56, size: 4, type: "u32" },
  { name: "reserved1", offset: 60, size: 4, type: "reserved" },
  { name: "parentUnicodeName", offset: 64, size: 512, type: "utf16be" },
  { name: "parentLocatorEntries", offset: 576, size: LOCATOR_SLOTS * LOCATOR_ENTRY_SIZE, type: "bytes" },
  { name: "reserved2", offset: 768, size: 256, type: "reserved" },
] as const);

/** Offset of the checksum field inside the header. */
export const DYNAMIC_HEADER_CHECKSUM_OFFSET = fieldOf(DYNAMIC_HEADER_LAYOUT, "checksum").offset;

/** A decoded dynamic header. The checksum is not part of it: {@link encodeDynamicHeader} computes it. */
export interface DynamicHeader {
  /** `cxsparse` in a valid header. */
  cookie: string;
  /** Next structure; always `null` (all-ones) in practice. */
  dataOffset: number | null;
  /** Absolute offset of the BAT. */
  tableOffset: number;
  /** 0x00010000. */
  headerVersion: number;
  /** Number of BAT entries, ceil(currentSize / blockSize). */
  maxTableEntries: number;
  /** Bytes of data per block, a power of two (2 MiB by default). */
  blockSize: number;
  /** The parent footer's unique id, 16 raw bytes (all zero in a dynamic disk). */
  parentUniqueId: Uint8Array;
  /** The parent's modification time, seconds since 2000 (informational only, docs/vhd-format.md §2.3). */
  parentTimeStamp: number;
  /** The parent's name as stored (UTF-16BE; a file name, or Hyper-V's absolute Windows path). */
  parentUnicodeName: string;
  /** Exactly 8 entries, unused ones all zero. */
  locators: ParentLocatorEntry[];
}

/** What decoding a header found: the record, and the facts about its checksum. */
export interface DecodedDynamicHeader extends ChecksumFacts {
  header: DynamicHeader;
}

type HeaderFields = LayoutRecord<typeof DYNAMIC_HEADER_LAYOUT.fields>;

/** Decodes the first 1024 bytes of `bytes` as a dynamic header. Never validates: see the reader for that. */
export function decodeDynamicHeader(bytes: Uint8Array): DecodedDynamicHeader {
  const { checksum, parentLocatorEntries, ...fields } = decodeLayout(DYNAMIC_HEADER_LAYOUT, bytes);
  const locators: ParentLocatorEntry[] = [];
  for (let slot = 0; slot < LOCATOR_SLOTS; slot++) {
    locators.push(decodeLocatorEntry(parentLocatorEntries.subarray(slot * LOCATOR_ENTRY_SIZE)));
  }
  return {
    header: { ...fields, locators },
    ...checksumFacts(bytes.subarray(0, DYNAMIC_HEADER_SIZE), DYNAMIC_HEADER_CHECKSUM_OFFSET, checksum),
  };
}

/** Encodes a header into 1024 new bytes, checksum included. `locators` may hold fewer than 8 entries (rest unused). */
export function encodeDynamicHeader(header: DynamicHeader): Uint8Array {
  const { locators, ...fields } = header;
  const parentLocatorEntries = new Uint8Array(LOCATOR_SLOTS * LOCATOR_ENTRY_SIZE);
  if (locators.length > LOCATOR_SLOTS) {
    throw new VhdError("E_INVALIDARG", `a dynamic header holds ${LOCATOR_SLOTS} parent locators, got ${locators.length}`, {
      parameter: "locators",
    });
  }
  locators.forEach((entry, slot) => parentLocatorEntries.set(encodeLocatorEntry(entry), slot * LOCATOR_ENTRY_SIZE));
  const record: HeaderFields = { ...fields, checksum: 0, parentLocatorEntries };
  return stampChecksum(encodeLayout(DYNAMIC_HEADER_LAYOUT, record), DYNAMIC_HEADER_CHECKSUM_OFFSET);
}
