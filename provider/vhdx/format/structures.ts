/**
 * Every fixed-size MS-VHDX structure, described once as data (`vhd/format/field.ts`): the decoders and encoders of
 * this folder walk these lists and nothing else knows a field's offset. Sections cite MS-VHDX v20240423.
 * Signatures are compared as ASCII bytes, never as integers: the spec prints some of them big-endian (§2.2.1).
 */
import { decodeLayout, defineLayout, type Field, type Layout, type LayoutRecord } from "../../vhd/format/field";

/** File type identifier, the first 64 KiB (§2.2.1): `vhdxfile` and a diagnostic creator string. */
export const FILE_IDENTIFIER_LAYOUT = defineLayout("VHDX file identifier", 65536, [
  { name: "signature", offset: 0, size: 8, type: "ascii" },
  { name: "creator", offset: 8, size: 512, type: "utf16le" },
  { name: "reserved", offset: 520, size: 65016, type: "reserved" },
] as const);

/** Header, 4 KiB used of a 64 KiB slot (§2.2.2); checksum = CRC-32C of the 4 KiB with the field zeroed. */
export const HEADER_LAYOUT = defineLayout("VHDX header", 4096, [
  { name: "signature", offset: 0, size: 4, type: "ascii" },
  { name: "checksum", offset: 4, size: 4, type: "u32le" },
  { name: "sequenceNumber", offset: 8, size: 8, type: "u64le" },
  { name: "fileWriteGuid", offset: 16, size: 16, type: "guid" },
  { name: "dataWriteGuid", offset: 32, size: 16, type: "guid" },
  { name: "logGuid", offset: 48, size: 16, type: "guid" },
  { name: "logVersion", offset: 64, size: 2, type: "u16le" },
  { name: "version", offset: 66, size: 2, type: "u16le" },
  { name: "logLength", offset: 68, size: 4, type: "u32le" },
  { name: "logOffset", offset: 72, size: 8, type: "u64le" },
  { name: "reserved", offset: 80, size: 4016, type: "reserved" },
] as const);

/** Region table header (§2.2.3.1); the checksum covers the whole 64 KiB table. */
export const REGION_TABLE_HEADER_LAYOUT = defineLayout("VHDX region table header", 16, [
  { name: "signature", offset: 0, size: 4, type: "ascii" },
  { name: "checksum", offset: 4, size: 4, type: "u32le" },
  { name: "entryCount", offset: 8, size: 4, type: "u32le" },
  { name: "reserved", offset: 12, size: 4, type: "reserved" },
] as const);

/** Region table entry (§2.2.3.2); `required` bit 0. */
export const REGION_ENTRY_LAYOUT = defineLayout("VHDX region table entry", 32, [
  { name: "guid", offset: 0, size: 16, type: "guid" },
  { name: "fileOffset", offset: 16, size: 8, type: "u64le" },
  { name: "length", offset: 24, size: 4, type: "u32le" },
  { name: "required", offset: 28, size: 4, type: "u32le" },
] as const);

/** Log entry header (§2.3.1.1); the checksum covers `entryLength` bytes with the field zeroed. */
export const LOG_ENTRY_HEADER_LAYOUT = defineLayout("VHDX log entry header", 64, [
  { name: "signature", offset: 0, size: 4, type: "ascii" },
  { name: "checksum", offset: 4, size: 4, type: "u32le" },
  { name: "entryLength", offset: 8, size: 4, type: "u32le" },
  { name: "tail", offset: 12, size: 4, type: "u32le" },
  { name: "sequenceNumber", offset: 16, size: 8, type: "u64le" },
  { name: "descriptorCount", offset: 24, size: 4, type: "u32le" },
  { name: "reserved", offset: 28, size: 4, type: "reserved" },
  { name: "logGuid", offset: 32, size: 16, type: "guid" },
  { name: "flushedFileOffset", offset: 48, size: 8, type: "u64le" },
  { name: "lastFileOffset", offset: 56, size: 8, type: "u64le" },
] as const);

/** Zero descriptor (§2.3.1.2): `zeroLength` bytes of zeros at `fileOffset`. */
export const LOG_ZERO_DESCRIPTOR_LAYOUT = defineLayout("VHDX log zero descriptor", 32, [
  { name: "signature", offset: 0, size: 4, type: "ascii" },
  { name: "reserved", offset: 4, size: 4, type: "reserved" },
  { name: "zeroLength", offset: 8, size: 8, type: "u64le" },
  { name: "fileOffset", offset: 16, size: 8, type: "u64le" },
  { name: "sequenceNumber", offset: 24, size: 8, type: "u64le" },
] as const);

/**
 * Data descriptor (§2.3.1.3): 4 KiB at `fileOffset`, made of `leadingBytes` (8 bytes, kept here because the data
 * sector's first 8 bytes hold its signature), the data sector's 4084 bytes and `trailingBytes` (4).
 */
export const LOG_DATA_DESCRIPTOR_LAYOUT = defineLayout("VHDX log data descriptor", 32, [
  { name: "signature", offset: 0, size: 4, type: "ascii" },
  { name: "trailingBytes", offset: 4, size: 4, type: "bytes" },
  { name: "leadingBytes", offset: 8, size: 8, type: "bytes" },
  { name: "fileOffset", offset: 16, size: 8, type: "u64le" },
  { name: "sequenceNumber", offset: 24, size: 8, type: "u64le" },
] as const);

/** Data sector (§2.3.1.4): the entry's sequence number split around 4084 bytes of the update. */
export const LOG_DATA_SECTOR_LAYOUT = defineLayout("VHDX log data sector", 4096, [
  { name: "signature", offset: 0, size: 4, type: "ascii" },
  { name: "sequenceHigh", offset: 4, size: 4, type: "u32le" },
  { name: "data", offset: 8, size: 4084, type: "bytes" },
  { name: "sequenceLow", offset: 4092, size: 4, type: "u32le" },
] as const);

/** Metadata table header (§2.6.1.1). */
export const METADATA_TABLE_HEADER_LAYOUT = defineLayout("VHDX metadata table header", 32, [
  { name: "signature", offset: 0, size: 8, type: "ascii" },
  { name: "reserved", offset: 8, size: 2, type: "reserved" },
  { name: "entryCount", offset: 10, size: 2, type: "u16le" },
  { name: "reserved2", offset: 12, size: 20, type: "reserved" },
] as const);

/** Metadata table entry (§2.6.1.2); `offset` is relative to the metadata region; flags in `METADATA_FLAGS`. */
export const METADATA_ENTRY_LAYOUT = defineLayout("VHDX metadata table entry", 32, [
  { name: "itemId", offset: 0, size: 16, type: "guid" },
  { name: "offset", offset: 16, size: 4, type: "u32le" },
  { name: "length", offset: 20, size: 4, type: "u32le" },
  { name: "flags", offset: 24, size: 4, type: "u32le" },
  { name: "reserved2", offset: 28, size: 4, type: "reserved" },
] as const);

/** File Parameters item (§2.6.2.1): block size in bytes; flags in `FILE_PARAMETER_FLAGS`. */
export const FILE_PARAMETERS_LAYOUT = defineLayout("VHDX file parameters", 8, [
  { name: "blockSize", offset: 0, size: 4, type: "u32le" },
  { name: "flags", offset: 4, size: 4, type: "u32le" },
] as const);

/** Virtual Disk Size item (§2.6.2.2), bytes. */
export const VIRTUAL_DISK_SIZE_LAYOUT = defineLayout("VHDX virtual disk size", 8, [
  { name: "virtualDiskSize", offset: 0, size: 8, type: "u64le" },
] as const);

/** Virtual Disk ID item, the SCSI page 0x83 identifier (§2.6.2.3). */
export const VIRTUAL_DISK_ID_LAYOUT = defineLayout("VHDX virtual disk id", 16, [
  { name: "virtualDiskId", offset: 0, size: 16, type: "guid" },
] as const);

/**
 * Our user metadata item (§2.6.1.2: IsUser, not required, not IsVirtualDisk, so readers skip it and a child does not
 * copy it): a GUID made for each file we create. Nothing but its creator rewrites a user item (a write session
 * renews the header GUIDs, never the metadata region), so it names the file across data writes, which the
 * DataWriteGuid does not and the Virtual Disk ID, shared along a chain, cannot.
 */
export const FILE_ID_LAYOUT = defineLayout("pulumi-vhd file id", 16, [
  { name: "fileId", offset: 0, size: 16, type: "guid" },
] as const);

/** Logical or Physical Sector Size item (§2.6.2.4, §2.6.2.5), bytes. */
export const SECTOR_SIZE_LAYOUT = defineLayout("VHDX sector size", 4, [
  { name: "sectorSize", offset: 0, size: 4, type: "u32le" },
] as const);

/** Parent locator header (§2.6.2.6.1). */
export const PARENT_LOCATOR_HEADER_LAYOUT = defineLayout("VHDX parent locator header", 20, [
  { name: "locatorType", offset: 0, size: 16, type: "guid" },
  { name: "reserved", offset: 16, size: 2, type: "reserved" },
  { name: "keyValueCount", offset: 18, size: 2, type: "u16le" },
] as const);

/** Parent locator entry (§2.6.2.6.2): offsets relative to the locator item, lengths in bytes of UTF-16LE. */
export const PARENT_LOCATOR_ENTRY_LAYOUT = defineLayout("VHDX parent locator entry", 12, [
  { name: "keyOffset", offset: 0, size: 4, type: "u32le" },
  { name: "valueOffset", offset: 4, size: 4, type: "u32le" },
  { name: "keyLength", offset: 8, size: 2, type: "u16le" },
  { name: "valueLength", offset: 10, size: 2, type: "u16le" },
] as const);

/** Signatures (§2.2.1, §2.2.2, §2.2.3.1, §2.3.1, §2.6.1.1). */
export const SIGNATURES = {
  file: "vhdxfile",
  header: "head",
  regionTable: "regi",
  logEntry: "loge",
  zeroDescriptor: "zero",
  dataDescriptor: "desc",
  dataSector: "data",
  metadata: "metadata",
} as const;

/** Region GUIDs (§2.2.3.2). */
export const REGION_GUIDS = {
  bat: "2dc27766-f623-4200-9d64-115e9bfd4a08",
  metadata: "8b7ca206-4790-4b9a-b8fe-575f050f886e",
} as const;

/** Metadata item GUIDs (§2.6.2). */
export const METADATA_ITEM_GUIDS = {
  fileParameters: "caa16737-fa36-4d43-b3b6-33f0aa44e76b",
  virtualDiskSize: "2fa54224-cd1b-4876-b211-5dbed83bf4b8",
  virtualDiskId: "beca12ab-b2e6-4523-93ef-c309e000c746",
  logicalSectorSize: "8141bf1d-a96f-4709-ba47-f233a8faab5f",
  physicalSectorSize: "cda348c7-445d-4471-9cc9-e9885251c556",
  parentLocator: "a8d35f2d-b30b-454d-abf7-d3d84834ab0c",
} as const;

/** User metadata item GUIDs we write (IsUser set; the pair of GUID and IsUser is unique, §2.6.1.2). */
export const USER_METADATA_ITEM_GUIDS = {
  fileId: "7a853fc6-9825-4b25-912e-c114cf36ea75",
} as const;

/** The parent locator type of a VHDX parent (§2.6.2.6.1). */
export const VHDX_PARENT_LOCATOR_TYPE = "b04aefb7-d19e-4a81-b789-25b8e9445913";

/** Metadata entry flag bits (§2.6.1.2). */
export const METADATA_FLAGS = { isUser: 1, isVirtualDisk: 2, isRequired: 4 } as const;

/** File Parameters flag bits (§2.6.2.1). */
export const FILE_PARAMETER_FLAGS = { leaveBlockAllocated: 1, hasParent: 2 } as const;

/** The nil GUID: "no log" in a header's LogGuid (§2.2.2). */
export const NIL_GUID = "00000000-0000-0000-0000-000000000000";

/**
 * Decodes a table of `count` entries of `entry`'s layout starting at byte `start` of `bytes`, keeping only the
 * entries that fit inside `bytes` (the region and metadata tables are 64 KiB whatever their count says).
 */
export function decodeEntries<Fields extends readonly Field[]>(
  entry: Layout<Fields>,
  bytes: Uint8Array,
  start: number,
  count: number,
): LayoutRecord<Fields>[] {
  const fitting = Math.max(0, Math.floor((bytes.length - start) / entry.size));
  return Array.from({ length: Math.min(count, fitting) }, (_, index) =>
    decodeLayout(entry, bytes.subarray(start + index * entry.size)),
  );
}
