/**
 * Opens a VHDX file (MS-VHDX v1) from a {@link RandomAccessFile}: the current header, the log replayed in memory
 * when it holds an active sequence, a region table, the metadata items and the BAT, each validated; then maps and
 * reads virtual ranges. Order and checks follow docs/vhdx-format.md §8 "Reader". The parent of a differencing file is
 * not opened here: the caller resolves its locator and passes the parent's reader to {@link VhdxImage.read}.
 */
import { VhdError, type ErrorName } from "../errors";
import type { RandomAccessFile } from "../storage/random-access-file";
import { decodeLayout } from "../vhd/format/field";
import type { DiskImage, DiskWarning, Extent, ParentReference } from "../disk/image";
import { vhdxParentCandidates } from "./parent-locator";
import {
  ALIGNMENT,
  BAT_STATE,
  bitmapSliceOffset,
  chunkRatio,
  decodeFileIdentifier,
  decodeHeader,
  decodeMetadataTable,
  decodeParentLocator,
  decodeRegionTable,
  FILE_ID_LAYOUT,
  FILE_IDENTIFIER_LAYOUT,
  FILE_PARAMETER_FLAGS,
  FILE_PARAMETERS_LAYOUT,
  findActiveSequence,
  HEADER_LAYOUT,
  HEADER_OFFSETS,
  HEADER_SECTION_SIZE,
  isValidBlockSize,
  LOG_SECTOR_SIZE,
  MAX_METADATA_ITEM,
  MAX_TABLE_ENTRIES,
  METADATA_ENTRY_LAYOUT,
  METADATA_TABLE_HEADER_LAYOUT,
  VHDX_MAX_VIRTUAL_SIZE,
  METADATA_FLAGS,
  METADATA_ITEM_GUIDS,
  METADATA_TABLE_SIZE,
  NIL_GUID,
  payloadBatIndex,
  REGION_GUIDS,
  REGION_TABLE_OFFSETS,
  REGION_TABLE_SIZE,
  requiredBatEntries,
  SECTOR_SIZE_LAYOUT,
  SECTOR_SIZES,
  sectorBitmapBatIndex,
  USER_METADATA_ITEM_GUIDS,
  VHDX_PARENT_LOCATOR_TYPE,
  VIRTUAL_DISK_ID_LAYOUT,
  VIRTUAL_DISK_SIZE_LAYOUT,
  type BatEntry,
  type DecodedHeader,
  type LocatorEntry,
  type LogEntry,
  type MetadataEntry,
  type RegionEntry,
} from "./format";
import { BatEntries, type Area, type Fail } from "./bat-entries";
import { ReplayedFile } from "./replayed-file";

/** The three VHDX disk types (§2.6.2.1: LeaveBlockAllocated = fixed, HasParent = differencing). */
export type VhdxKind = "fixed" | "dynamic" | "differencing";

/** A differencing file's parent locator (§2.6.2.6.3), the well-known keys picked out of `entries`. */
export interface VhdxParentLocator {
  /** The locator type GUID (lower-case, dashed); always the VHDX one for a file this reader accepts. */
  locatorType: string;
  /** Every key/value pair, in file order. */
  entries: LocatorEntry[];
  /** The parent's DataWriteGuid when the child was made, as stored (Hyper-V: lower-case, braced). */
  parentLinkage: string;
  /** The alternative linkage some merges leave (§2.6.2.6.3 note <12>); match either. */
  parentLinkage2?: string;
  /** Relative to the child's folder, `\` separators. */
  relativePath?: string;
  /** `\\?\Volume{GUID}\path`. */
  volumePath?: string;
  /** `\\?\C:\path` or a UNC path. */
  absoluteWin32Path?: string;
}

/** Reads the parent's virtual bytes, for the `parent` runs of a differencing file. */
export interface ParentReader {
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Options of {@link openVhdx}. */
export interface OpenVhdxOptions {
  /** Upper bound for the log region read into memory (bytes, default 256 MiB): a larger log is refused. */
  maxLogLength?: number;
  /**
   * `whole` (default): the BAT read and checked when the file opens, every entry and no two blocks overlapping.
   * `on-demand`: only the entries a read or write touches, a 4 KiB page at a time, each checked by itself (for one
   * write into a disk whose BAT is large; bat-entries.ts).
   */
  bat?: "whole" | "on-demand";
}

const DEFAULT_MAX_LOG = 256 * 1024 * 1024;
/** Cached sector-bitmap slices (one per partially present block, at most 1 MiB each at 256 MiB blocks). */
const BITMAP_CACHE_LIMIT = 256;

/** The file's metadata items, decoded and validated. */
interface VhdxMetadata {
  blockSize: number;
  leaveBlockAllocated: boolean;
  hasParent: boolean;
  virtualSize: number;
  virtualDiskId: string;
  /** Our file id user item, when the file has one (a file we created). */
  fileId: string | null;
  logicalSectorSize: number;
  physicalSectorSize: number;
  parentLocator: VhdxParentLocator | null;
  /** Every table entry as read (a child copies the IsVirtualDisk ones, §2.6.1.2). */
  entries: MetadataEntry[];
}

/**
 * One open VHDX file. Construct it with {@link openVhdx}; close it with {@link VhdxImage.close}. Every offset the
 * BAT holds was checked to lie inside the file when it was opened.
 */
export class VhdxImage implements DiskImage {
  readonly format = "vhdx" as const;
  /** Nothing this reader reads past is kept as a warning: what it cannot trust, it refuses when opening. */
  readonly warnings: readonly DiskWarning[] = [];
  private readonly bitmapCache = new Map<number, Uint8Array>();

  constructor(
    /** The file as opened (the log's updates are seen through `source`, never written into it). */
    readonly file: RandomAccessFile,
    /** What reads go to: `file`, or a read-only view of it with the log replayed in memory. */
    private readonly source: RandomAccessFile,
    /** The creator string of the file identifier (diagnostic only, §2.2.1). */
    readonly creator: string,
    /** The current header (§2.2.2) and which slot (0: 64 KiB, 1: 128 KiB) it came from. */
    readonly header: DecodedHeader,
    readonly headerSlot: 0 | 1,
    /** The region table entries in use (§2.2.3), and which copy they came from. */
    readonly regions: readonly RegionEntry[],
    readonly regionTableSlot: 0 | 1,
    private readonly metadata: VhdxMetadata,
    /** The BAT region's entries, whole or read on demand. */
    private readonly bat: BatEntries,
    /** The log entries replayed in memory, tail first (empty when the log had nothing to replay). */
    readonly replayedLog: readonly LogEntry[],
  ) {}

  /** The path the file was opened by. */
  get path(): string {
    return this.file.path;
  }

  /**
   * What a child records of this disk as `parent_linkage`: the current DataWriteGuid (§2.6.2.6.3), lower-case and
   * dashed without braces, the form {@link parentReference}'s `uniqueId` takes, so the two compare as strings.
   */
  get uniqueId(): string {
    return linkageForm(this.header.dataWriteGuid);
  }

  /**
   * The file's identity across data writes (see {@link DiskImage.fileId}): our file id user item, lower-case dashed,
   * in a file we created; else the Virtual Disk ID (§2.6.2.3), which a file made elsewhere shares with its
   * children (README, known limits).
   */
  get fileId(): string {
    return this.metadata.fileId ?? this.metadata.virtualDiskId;
  }

  /**
   * The parent a differencing file names: candidates by its locator (relative_path, volume_path, absolute_win32_path
   * in the spec's order, then the parent's file name next to the child; parent-locator.ts) and the identity it
   * expects: `parent_linkage`, or `parent_linkage2` as the alternative, since an open accepts a parent whose
   * DataWriteGuid matches either (§2.6.2.6.3; a merge records the parent's next DataWriteGuid there before writing
   * into it, note <12>). VHDX records no parent time stamp.
   */
  parentReference(): ParentReference | null {
    const locator = this.metadata.parentLocator;
    if (locator === null) return null;
    const candidates = vhdxParentCandidates(this.path, locator);
    const name = candidates[candidates.length - 1]?.path ?? locator.parentLinkage;
    const uniqueId = linkageForm(locator.parentLinkage);
    const reference: ParentReference = { candidates, uniqueId, name, recordedModifiedTime: null };
    if (locator.parentLinkage2 !== undefined) reference.alternativeUniqueIds = [linkageForm(locator.parentLinkage2)];
    return reference;
  }

  /**
   * The bytes of the file a relink rewrites (relink.ts), so an unlinked checksum reads them as zeros: the parent
   * locator item and its metadata table entry (its offset and length change when it moves), and what every write
   * session touches, both header copies (sequence number, FileWriteGuid, LogGuid) and the log region the change goes
   * through. What the disk reads is not among them: its BAT, blocks and other metadata items; and a data write also
   * renews the DataWriteGuid in the headers, which the child records apart (`uniqueId`, its `parent_linkage`).
   */
  parentLinkRanges(): { offset: number; length: number }[] {
    const metadataRegion = this.regions.find((region) => region.guid === REGION_GUIDS.metadata);
    const index = this.metadata.entries.findIndex((entry) => entry.itemId === METADATA_ITEM_GUIDS.parentLocator);
    const item = this.metadata.entries[index];
    if (metadataRegion === undefined || item === undefined || !this.metadata.hasParent) return [];
    return [
      ...HEADER_OFFSETS.map((offset) => ({ offset, length: HEADER_LAYOUT.size })),
      { offset: this.header.logOffset, length: this.header.logLength },
      { offset: metadataRegion.fileOffset + METADATA_TABLE_HEADER_LAYOUT.size + index * METADATA_ENTRY_LAYOUT.size, length: METADATA_ENTRY_LAYOUT.size },
      { offset: metadataRegion.fileOffset + item.offset, length: item.length },
    ];
  }

  get kind(): VhdxKind {
    if (this.metadata.hasParent) return "differencing";
    return this.metadata.leaveBlockAllocated ? "fixed" : "dynamic";
  }
  /** Bytes of virtual disk (§2.6.2.2). */
  get virtualSize(): number {
    return this.metadata.virtualSize;
  }
  /** Payload block size in bytes (§2.6.2.1). */
  get blockSize(): number {
    return this.metadata.blockSize;
  }
  get logicalSectorSize(): number {
    return this.metadata.logicalSectorSize;
  }
  get physicalSectorSize(): number {
    return this.metadata.physicalSectorSize;
  }
  /** The Virtual Disk ID item (SCSI page 0x83 identifier, §2.6.2.3), lower-case dashed; a child shares its parent's. */
  get virtualDiskId(): string {
    return this.metadata.virtualDiskId;
  }
  /** The current header's DataWriteGuid: what children record as `parent_linkage` (§2.2.2, §2.6.2.6.3). */
  get dataWriteGuid(): string {
    return this.header.dataWriteGuid;
  }
  get fileWriteGuid(): string {
    return this.header.fileWriteGuid;
  }
  /**
   * Whether the current header names a LogGuid (§2.2.2): the file was not closed cleanly, and the first writer to
   * open it replays the log into the file (§2.3.3) under a new DataWriteGuid, so children recorded before no longer
   * link to it. Reads already see the replayed bytes (in memory).
   */
  get hasLiveLog(): boolean {
    return this.header.logGuid !== NIL_GUID;
  }
  /** The parent locator of a differencing file, else null. */
  get parentLocator(): VhdxParentLocator | null {
    return this.metadata.parentLocator;
  }
  /** The metadata table entries as read. */
  get metadataEntries(): readonly MetadataEntry[] {
    return this.metadata.entries;
  }
  /** Payload blocks per sector bitmap block (§2.4). */
  get chunkRatio(): number {
    return chunkRatio(this.metadata);
  }

  /**
   * Makes the BAT entries of payload blocks `[firstBlock, endBlock)` (and in a child their chunks' sector bitmap
   * entries) available to {@link payloadEntry} and {@link sectorBitmapEntry}: a no-op when the BAT was read whole,
   * else the pages holding them read and checked (see {@link OpenVhdxOptions.bat}).
   * @throws `ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT` for a bad entry among them.
   */
  loadBatEntries(firstBlock: number, endBlock: number): Promise<void> {
    return this.bat.load(firstBlock, endBlock);
  }

  /** The BAT entry of payload block `block` (§2.5); of a BAT read on demand, loaded first ({@link loadBatEntries}). */
  payloadEntry(block: number): BatEntry {
    return this.bat.entry(payloadBatIndex(block, this.chunkRatio));
  }

  /** The BAT entry of chunk `chunk`'s sector bitmap block (§2.5); as {@link payloadEntry}. */
  sectorBitmapEntry(chunk: number): BatEntry {
    return this.bat.entry(sectorBitmapBatIndex(chunk, this.chunkRatio));
  }

  /**
   * Splits the virtual range `[offset, offset + length)` into runs this file holds (`data`, with the file offset),
   * reads as zeros (`zero`) or leaves to the parent (`parent`, differencing only), by block state (§2.5.1.1):
   * FULLY_PRESENT data; NOT_PRESENT the parent's in a child and zeros otherwise; ZERO, UNDEFINED, UNMAPPED zeros;
   * PARTIALLY_PRESENT split by the sector bitmap (bit set: this file). Adjacent runs of a kind are merged, data runs
   * only when contiguous in the file. The range is clipped to the virtual size.
   */
  async mapRange(offset: number, length: number): Promise<Extent[]> {
    const extents: Extent[] = [];
    const push = (extent: Extent): void => {
      const last = extents[extents.length - 1];
      const contiguous =
        last?.kind !== "data" || extent.kind !== "data" || last.fileOffset + last.length === extent.fileOffset;
      if (last !== undefined && last.kind === extent.kind && contiguous) last.length += extent.length;
      else extents.push(extent);
    };
    const { blockSize, logicalSectorSize } = this.metadata;
    const differencing = this.metadata.hasParent;
    const end = Math.min(offset + length, this.virtualSize);
    let position = Math.max(0, offset);
    if (position < end) await this.loadBatEntries(Math.floor(position / blockSize), Math.ceil(end / blockSize));
    while (position < end) {
      const block = Math.floor(position / blockSize);
      const blockStart = block * blockSize;
      const blockEnd = Math.min(blockStart + blockSize, end);
      const entry = this.payloadEntry(block);
      if (entry.state === BAT_STATE.fullyPresent) {
        push({ kind: "data", offset: position, length: blockEnd - position, fileOffset: entry.fileOffset + position - blockStart });
      } else if (entry.state === BAT_STATE.partiallyPresent) {
        const bitmap = await this.blockBitmap(block);
        while (position < blockEnd) {
          const sector = Math.floor((position - blockStart) / logicalSectorSize);
          const present = bitOf(bitmap, sector);
          let runEndSector = sector + 1;
          const limit = Math.ceil((blockEnd - blockStart) / logicalSectorSize);
          while (runEndSector < limit && bitOf(bitmap, runEndSector) === present) runEndSector++;
          const runEnd = Math.min(blockStart + runEndSector * logicalSectorSize, blockEnd);
          push(
            present
              ? { kind: "data", offset: position, length: runEnd - position, fileOffset: entry.fileOffset + position - blockStart }
              : { kind: "parent", offset: position, length: runEnd - position },
          );
          position = runEnd;
        }
      } else {
        const fromParent = differencing && entry.state === BAT_STATE.notPresent;
        push({ kind: fromParent ? "parent" : "zero", offset: position, length: blockEnd - position });
      }
      position = blockEnd;
    }
    return extents;
  }

  /**
   * Reads `length` virtual bytes at `offset` (past the virtual size: zeros). `parent` runs are read through
   * `parent`; without one they are an error.
   * @throws `ERROR_VHD_PARENT_VHD_NOT_FOUND` for a parent run when no parent reader is given.
   */
  async read(offset: number, length: number, parent?: ParentReader): Promise<Uint8Array> {
    const buffer = new Uint8Array(length);
    for (const extent of await this.mapRange(offset, length)) {
      const at = extent.offset - offset;
      if (extent.kind === "data") await this.source.read(extent.fileOffset, extent.length, buffer, at);
      else if (extent.kind === "parent") {
        if (parent === undefined) {
          throw this.error("ERROR_VHD_PARENT_VHD_NOT_FOUND", "reading this differencing disk needs its parent, and none was given");
        }
        buffer.set(await parent.read(extent.offset, extent.length), at);
      }
    }
    return buffer;
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.source.close();
  }

  /** The bits of payload block `block` in its chunk's sector bitmap block (cached, bounded). */
  private async blockBitmap(block: number): Promise<Uint8Array> {
    const cached = this.bitmapCache.get(block);
    if (cached !== undefined) return cached;
    const sectorBitmap = this.sectorBitmapEntry(Math.floor(block / this.chunkRatio));
    const sliceLength = this.blockSize / this.logicalSectorSize / 8;
    const bitmap = await this.source.read(sectorBitmap.fileOffset + bitmapSliceOffset(block, this.metadata), sliceLength);
    if (this.bitmapCache.size >= BITMAP_CACHE_LIMIT) this.bitmapCache.clear();
    this.bitmapCache.set(block, bitmap);
    return bitmap;
  }

  private error(code: ErrorName, reason: string, details?: Record<string, unknown>): VhdError {
    return new VhdError(code, reason, { parameter: this.file.parameter, path: this.file.path, details });
  }
}

/**
 * What a live log means for the disk's children (see {@link VhdxImage.hasLiveLog}), the one sentence `verify` and
 * validation both give.
 */
export const LIVE_LOG_CONSEQUENCE =
  "opened by a writer (Hyper-V, qemu), it is replayed under a new DataWriteGuid and a child that links to it now no longer does";

/** A GUID as `xxxxxxxx-xxxx-...`, lower case, braces dropped (Hyper-V stores `parent_linkage` braced). */
export function linkageForm(guid: string): string {
  return guid.replace(/[{}]/g, "").toLowerCase();
}

/** Bit `index` of an LSB-first bitmap (§2.4). */
function bitOf(bitmap: Uint8Array, index: number): boolean {
  return (((bitmap[index >>> 3] ?? 0) >>> (index & 7)) & 1) === 1;
}

/**
 * Opens a VHDX file. Checks, in order (docs/vhdx-format.md §8): the identifier; both headers (signature, CRC-32C),
 * taking the valid one with the higher sequence number; Version 1 and LogVersion 0; the log, replayed in memory
 * when it holds an active sequence (bounded: a looping or corrupt log cannot hang the open); the region table at
 * 192 KiB, else the copy at 256 KiB; the metadata items; the BAT and every offset in it.
 * @throws `VhdError`: `ERROR_VHD_FORMAT_UNKNOWN` (not a VHDX), `ERROR_VHD_INVALID_FILE_SIZE` (shorter than its
 * structures), `ERROR_VHD_METADATA_READ_FAILURE` (a corrupt header, log, region table or metadata item, named),
 * `ERROR_VHD_FORMAT_UNSUPPORTED_VERSION` (a version, or a required region or item, this reader does not know),
 * `ERROR_VHD_INVALID_BLOCK_SIZE`, `ERROR_VHD_INVALID_SIZE`, `ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT`,
 * `ERROR_VIRTUAL_DISK_LIMITATION` (a log larger than `maxLogLength`).
 */
export async function openVhdx(file: RandomAccessFile, options: OpenVhdxOptions = {}): Promise<VhdxImage> {
  const fail = (code: ErrorName, reason: string, details?: Record<string, unknown>): VhdError =>
    new VhdError(code, reason, { parameter: file.parameter, path: file.path, details });

  const identifier = decodeFileIdentifier(await file.read(0, FILE_IDENTIFIER_LAYOUT.size));
  if (!identifier.valid) {
    throw fail("ERROR_VHD_FORMAT_UNKNOWN", "the file does not start with the VHDX signature \"vhdxfile\"");
  }
  if (file.size < HEADER_SECTION_SIZE) {
    throw fail("ERROR_VHD_INVALID_FILE_SIZE", `the file is ${file.size} bytes, shorter than the 1 MiB VHDX header section`);
  }

  const { header, slot } = await currentHeader(file, fail);
  const replayed = await replayLog(file, header, options.maxLogLength ?? DEFAULT_MAX_LOG, fail);
  const source = replayed.length === 0 ? file : new ReplayedFile(file, replayed.flatMap((entry) => entry.writes), replayed[replayed.length - 1]?.header.lastFileOffset ?? 0);

  const { regions, regionTableSlot } = await regionTable(source, header, fail);
  const region = (guid: string): RegionEntry => {
    const found = regions.find((entry) => entry.guid === guid);
    if (found === undefined) throw fail("ERROR_VHD_METADATA_READ_FAILURE", `the region table has no ${guid === REGION_GUIDS.bat ? "BAT" : "metadata"} region`);
    return found;
  };
  const metadataRegion = region(REGION_GUIDS.metadata);
  const metadata = await readMetadata(source, metadataRegion, fail);

  const batRegion = region(REGION_GUIDS.bat);
  const needed = requiredBatEntries(metadata, metadata.hasParent);
  if (batRegion.length < needed * 8) {
    throw fail("ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT", `the BAT region holds ${batRegion.length / 8} entries, the disk needs ${needed}`);
  }
  const reserved: Area[] = [
    { name: "the log", start: header.logOffset, end: header.logOffset + header.logLength },
    { name: "the metadata region", start: metadataRegion.fileOffset, end: metadataRegion.fileOffset + metadataRegion.length },
    { name: "the BAT region", start: batRegion.fileOffset, end: batRegion.fileOffset + batRegion.length },
  ].filter((area) => area.end > area.start);
  // Only the entries the disk uses: the region may be longer, and its length is not trusted to size a read.
  const context = { geometry: metadata, hasParent: metadata.hasParent, fileSize: source.size, reserved, fail };
  const bat = options.bat === "on-demand"
    ? BatEntries.onDemand(source, batRegion.fileOffset, needed, context)
    : await BatEntries.whole(source, batRegion.fileOffset, needed, context);
  return new VhdxImage(file, source, identifier.creator, header, slot, regions, regionTableSlot, metadata, bat, replayed);
}

/** The current header (§2.2.2): the valid one (signature, CRC-32C), or of two the higher sequence number. */
async function currentHeader(file: RandomAccessFile, fail: Fail): Promise<{ header: DecodedHeader; slot: 0 | 1 }> {
  const headers = await Promise.all(HEADER_OFFSETS.map(async (at) => decodeHeader(await file.read(at, HEADER_LAYOUT.size))));
  let chosen: { header: DecodedHeader; slot: 0 | 1 } | undefined;
  headers.forEach((header, slot) => {
    if (!header.signatureValid || !header.checksumValid) return;
    if (chosen === undefined || header.sequenceNumber > chosen.header.sequenceNumber) chosen = { header, slot: slot as 0 | 1 };
  });
  if (chosen === undefined) {
    const why = headers.map((header, slot) => `header ${slot + 1} ${header.signatureValid ? "has a wrong CRC-32C" : "has no \"head\" signature"}`);
    throw fail("ERROR_VHD_METADATA_READ_FAILURE", `neither VHDX header is valid: ${why.join(", ")}`);
  }
  const { header } = chosen;
  if (header.version !== 1) {
    throw fail("ERROR_VHD_FORMAT_UNSUPPORTED_VERSION", `the VHDX header has version ${header.version}; only version 1 is known`);
  }
  if (header.logGuid !== NIL_GUID && header.logVersion !== 0) {
    throw fail("ERROR_VHD_FORMAT_UNSUPPORTED_VERSION", `the VHDX log has version ${header.logVersion}; only version 0 is known`);
  }
  return chosen;
}

/**
 * The log's active sequence (§2.3.3), checked against the file: its updates must land after the headers
 * (§2.3: headers are never logged) on 4 KiB boundaries, and the file must reach the head's FlushedFileOffset.
 * Empty when LogGuid is zero or the log holds no complete sequence (Windows leaves stale entries behind).
 */
async function replayLog(file: RandomAccessFile, header: DecodedHeader, maxLogLength: number, fail: Fail): Promise<LogEntry[]> {
  const { logOffset, logLength, logGuid } = header;
  if (logGuid === NIL_GUID) return [];
  if (logOffset < HEADER_SECTION_SIZE || logOffset % ALIGNMENT !== 0 || logLength === 0 || logLength % ALIGNMENT !== 0) {
    throw fail("ERROR_VHD_METADATA_READ_FAILURE", `the VHDX header places the log at ${logOffset} (${logLength} bytes), not on 1 MiB boundaries after the header section`);
  }
  if (logLength > maxLogLength) {
    throw fail("ERROR_VIRTUAL_DISK_LIMITATION", `the VHDX log is ${logLength} bytes, more than the ${maxLogLength} this reader replays`);
  }
  if (logOffset + logLength > file.size) {
    throw fail("ERROR_VHD_INVALID_FILE_SIZE", `the VHDX log ends at ${logOffset + logLength}, past the end of the ${file.size}-byte file`);
  }
  const entries = findActiveSequence(await file.read(logOffset, logLength), logGuid);
  const head = entries[entries.length - 1];
  if (head === undefined) return [];
  if (file.size < head.header.flushedFileOffset) {
    throw fail("ERROR_VHD_INVALID_FILE_SIZE", `the VHDX log's head entry needs the file to be at least ${head.header.flushedFileOffset} bytes; it is ${file.size}`);
  }
  const firstLoggable = REGION_TABLE_OFFSETS[0];
  for (const entry of entries) {
    for (const write of entry.writes) {
      const length = "data" in write ? write.data.length : write.zeroLength;
      if (write.fileOffset < firstLoggable || write.fileOffset % LOG_SECTOR_SIZE !== 0 || length % LOG_SECTOR_SIZE !== 0 || write.fileOffset + length > Math.max(head.header.lastFileOffset, file.size)) {
        throw fail("ERROR_VHD_METADATA_READ_FAILURE", `VHDX log entry ${entry.header.sequenceNumber} writes ${length} bytes at ${write.fileOffset}, outside what a log may update`, { sequenceNumber: entry.header.sequenceNumber });
      }
    }
  }
  return entries;
}

/** The region table (§2.2.3): the copy at 192 KiB, else the one at 256 KiB; entries checked for place and overlap. */
async function regionTable(file: RandomAccessFile, header: DecodedHeader, fail: Fail): Promise<{ regions: RegionEntry[]; regionTableSlot: 0 | 1 }> {
  const tables = await Promise.all(REGION_TABLE_OFFSETS.map(async (at) => decodeRegionTable(await file.read(at, REGION_TABLE_SIZE))));
  const slot = tables.findIndex((table) => table.signatureValid && table.checksumValid && table.entryCount <= MAX_TABLE_ENTRIES);
  const table = tables[slot];
  if (table === undefined) {
    throw fail("ERROR_VHD_METADATA_READ_FAILURE", "neither VHDX region table is valid (signature \"regi\", CRC-32C, at most 2047 entries)");
  }
  const known: readonly string[] = Object.values(REGION_GUIDS);
  const spans: { name: string; start: number; end: number }[] = [];
  if (header.logGuid !== NIL_GUID || header.logLength > 0) {
    spans.push({ name: "log", start: header.logOffset, end: header.logOffset + header.logLength });
  }
  for (const entry of table.entries) {
    if (!known.includes(entry.guid)) {
      if ((entry.required & 1) === 1) {
        throw fail("ERROR_VHD_FORMAT_UNSUPPORTED_VERSION", `the VHDX region table has a required region ${entry.guid} this reader does not know`);
      }
      continue;
    }
    if (table.entries.filter((other) => other.guid === entry.guid).length > 1) {
      throw fail("ERROR_VHD_METADATA_READ_FAILURE", `the VHDX region table lists region ${entry.guid} twice`);
    }
    if (entry.fileOffset < HEADER_SECTION_SIZE || entry.fileOffset % ALIGNMENT !== 0 || entry.length === 0 || entry.length % ALIGNMENT !== 0) {
      throw fail("ERROR_VHD_METADATA_READ_FAILURE", `VHDX region ${entry.guid} is at ${entry.fileOffset} (${entry.length} bytes), not on 1 MiB boundaries after the header section`);
    }
    if (entry.fileOffset + entry.length > file.size) {
      throw fail("ERROR_VHD_INVALID_FILE_SIZE", `VHDX region ${entry.guid} ends at ${entry.fileOffset + entry.length}, past the end of the ${file.size}-byte file`);
    }
    const span = { name: `region ${entry.guid}`, start: entry.fileOffset, end: entry.fileOffset + entry.length };
    const clash = spans.find((other) => span.start < other.end && other.start < span.end);
    if (clash !== undefined) throw fail("ERROR_VHD_METADATA_READ_FAILURE", `VHDX ${span.name} overlaps the ${clash.name}`);
    spans.push(span);
  }
  return { regions: table.entries.filter((entry) => known.includes(entry.guid)), regionTableSlot: slot as 0 | 1 };
}

/** The metadata items this reader needs, with their exact sizes (§2.6.2). */
const KNOWN_ITEMS: Record<string, number | undefined> = {
  [METADATA_ITEM_GUIDS.fileParameters]: FILE_PARAMETERS_LAYOUT.size,
  [METADATA_ITEM_GUIDS.virtualDiskSize]: VIRTUAL_DISK_SIZE_LAYOUT.size,
  [METADATA_ITEM_GUIDS.virtualDiskId]: VIRTUAL_DISK_ID_LAYOUT.size,
  [METADATA_ITEM_GUIDS.logicalSectorSize]: SECTOR_SIZE_LAYOUT.size,
  [METADATA_ITEM_GUIDS.physicalSectorSize]: SECTOR_SIZE_LAYOUT.size,
  [METADATA_ITEM_GUIDS.parentLocator]: undefined,
};

/** Reads and validates the metadata region (§2.6). */
async function readMetadata(file: RandomAccessFile, region: RegionEntry, fail: Fail): Promise<VhdxMetadata> {
  // The table first, then each item on its own: a region length from a damaged table never sizes a read.
  const table = decodeMetadataTable(await file.read(region.fileOffset, METADATA_TABLE_SIZE));
  if (!table.signatureValid || table.entryCount > MAX_TABLE_ENTRIES) {
    throw fail("ERROR_VHD_METADATA_READ_FAILURE", "the VHDX metadata table has no \"metadata\" signature or more than 2047 entries");
  }
  const items = new Map<string, Uint8Array>();
  for (const entry of table.entries) {
    const user = (entry.flags & METADATA_FLAGS.isUser) !== 0;
    const size = user ? FILE_ID_LAYOUT.size : KNOWN_ITEMS[entry.itemId];
    const known = user ? entry.itemId === USER_METADATA_ITEM_GUIDS.fileId : entry.itemId in KNOWN_ITEMS;
    if (!known) {
      if ((entry.flags & METADATA_FLAGS.isRequired) !== 0) {
        throw fail("ERROR_VHD_FORMAT_UNSUPPORTED_VERSION", `the VHDX metadata has a required item ${entry.itemId} this reader does not know`);
      }
      continue;
    }
    const inside = entry.offset >= METADATA_TABLE_SIZE && entry.length <= MAX_METADATA_ITEM && entry.offset + entry.length <= region.length;
    if (!inside || (size !== undefined && entry.length !== size)) {
      throw fail("ERROR_VHD_METADATA_READ_FAILURE", `VHDX metadata item ${entry.itemId} is ${entry.length} bytes at ${entry.offset}: outside the metadata region or of the wrong size`);
    }
    if (items.has(entry.itemId)) throw fail("ERROR_VHD_METADATA_READ_FAILURE", `VHDX metadata item ${entry.itemId} appears twice`);
    items.set(entry.itemId, await file.read(region.fileOffset + entry.offset, entry.length));
  }
  const item = (name: keyof typeof METADATA_ITEM_GUIDS): Uint8Array => {
    const found = items.get(METADATA_ITEM_GUIDS[name]);
    if (found === undefined) throw fail("ERROR_VHD_METADATA_READ_FAILURE", `the VHDX metadata has no ${name} item`);
    return found;
  };
  const parameters = decodeLayout(FILE_PARAMETERS_LAYOUT, item("fileParameters"));
  const { virtualDiskSize } = decodeLayout(VIRTUAL_DISK_SIZE_LAYOUT, item("virtualDiskSize"));
  const { virtualDiskId } = decodeLayout(VIRTUAL_DISK_ID_LAYOUT, item("virtualDiskId"));
  const logicalSectorSize = decodeLayout(SECTOR_SIZE_LAYOUT, item("logicalSectorSize")).sectorSize;
  const physicalSectorSize = decodeLayout(SECTOR_SIZE_LAYOUT, item("physicalSectorSize")).sectorSize;
  if (!isValidBlockSize(parameters.blockSize)) {
    throw fail("ERROR_VHD_INVALID_BLOCK_SIZE", `the VHDX file parameters give block size ${parameters.blockSize}, not a power of two from 1 MiB to 256 MiB`);
  }
  for (const [name, value] of [["logical", logicalSectorSize], ["physical", physicalSectorSize]] as const) {
    if (!(SECTOR_SIZES as readonly number[]).includes(value)) {
      throw fail("ERROR_VHD_METADATA_READ_FAILURE", `the VHDX ${name} sector size item is ${value}, not 512 or 4096`);
    }
  }
  if (virtualDiskSize === 0 || virtualDiskSize > VHDX_MAX_VIRTUAL_SIZE || virtualDiskSize % logicalSectorSize !== 0) {
    throw fail("ERROR_VHD_INVALID_SIZE", `the VHDX virtual disk size ${virtualDiskSize} is not a multiple of the ${logicalSectorSize}-byte sector from 1 sector to 64 TB`);
  }
  const hasParent = (parameters.flags & FILE_PARAMETER_FLAGS.hasParent) !== 0;
  const locatorBytes = items.get(METADATA_ITEM_GUIDS.parentLocator);
  const fileIdBytes = items.get(USER_METADATA_ITEM_GUIDS.fileId);
  return {
    blockSize: parameters.blockSize,
    leaveBlockAllocated: (parameters.flags & FILE_PARAMETER_FLAGS.leaveBlockAllocated) !== 0,
    hasParent,
    virtualSize: virtualDiskSize,
    virtualDiskId,
    fileId: fileIdBytes === undefined ? null : decodeLayout(FILE_ID_LAYOUT, fileIdBytes).fileId,
    logicalSectorSize,
    physicalSectorSize,
    parentLocator: hasParent ? parentLocator(locatorBytes, fail) : null,
    entries: table.entries,
  };
}

/** The parent locator of a child (§2.6.2.6): the VHDX type, a parent_linkage, at least one path. */
function parentLocator(bytes: Uint8Array | undefined, fail: Fail): VhdxParentLocator {
  if (bytes === undefined) throw fail("ERROR_VHD_METADATA_READ_FAILURE", "the VHDX file has a parent but no parent locator item");
  const decoded = decodeParentLocator(bytes);
  if (!decoded.ok) throw fail("ERROR_VHD_METADATA_READ_FAILURE", `the VHDX parent locator is corrupt: ${decoded.reason}`);
  if (decoded.locatorType !== VHDX_PARENT_LOCATOR_TYPE) {
    throw fail("ERROR_VHD_FORMAT_UNSUPPORTED_VERSION", `the VHDX parent locator has type ${decoded.locatorType}; only the VHDX type ${VHDX_PARENT_LOCATOR_TYPE} is known`);
  }
  const value = (key: string): string | undefined => decoded.entries.find((entry) => entry.key === key)?.value;
  const parentLinkage = value("parent_linkage");
  if (parentLinkage === undefined) throw fail("ERROR_VHD_METADATA_READ_FAILURE", "the VHDX parent locator has no parent_linkage");
  const locator: VhdxParentLocator = { locatorType: decoded.locatorType, entries: decoded.entries, parentLinkage };
  const optional = { parentLinkage2: "parent_linkage2", relativePath: "relative_path", volumePath: "volume_path", absoluteWin32Path: "absolute_win32_path" } as const;
  for (const [field, key] of Object.entries(optional) as [keyof typeof optional, string][]) {
    const found = value(key);
    if (found !== undefined) locator[field] = found;
  }
  if (locator.relativePath === undefined && locator.volumePath === undefined && locator.absoluteWin32Path === undefined) {
    throw fail("ERROR_VHD_METADATA_READ_FAILURE", "the VHDX parent locator names no path (relative_path, volume_path or absolute_win32_path)");
  }
  return locator;
}
