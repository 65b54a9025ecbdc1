/**
 * Opening one VHD file (fixed, dynamic or differencing): finding its footer, reading and validating its dynamic
 * header, BAT and parent locators, and mapping virtual offsets to the bytes the file itself holds. Parents are the
 * chain's business (disk/chain.ts); this module only says "not here, ask the parent" and where the parent may be.
 */
import { VhdError, type ErrorName, type ErrorParameter } from "../../errors";
import {
  DYNAMIC_HEADER_COOKIE,
  locatorDataSpaceBytes,
  DYNAMIC_HEADER_SIZE,
  DYNAMIC_HEADER_VERSION,
  DiskType,
  FEATURES_RESERVED,
  FEATURES_TEMPORARY,
  FILE_FORMAT_VERSION,
  FOOTER_COOKIE,
  FOOTER_SIZE,
  LOCATOR_ENTRY_SIZE,
  MAX_VIRTUAL_SIZE,
  SECTOR_SIZE,
  SHORT_FOOTER_SIZE,
  UNUSED_BAT_ENTRY,
  VHDX_SIGNATURE,
  batByteSize,
  bitmapSize,
  blockDataOffset,
  blockSpan,
  decodeBat,
  decodeDynamicHeader,
  decodeFooter,
  decodeLocatorData,
  forEachAllocated,
  maxTableEntriesFor,
  sectorRunLength,
  type DecodedFooter,
  type DynamicHeader,
  type Footer,
  type ParentLocatorEntry,
  dateFromVhdTimeStamp,
  fieldOf,
  formatUniqueId,
  FOOTER_LAYOUT,
  DYNAMIC_HEADER_LAYOUT,
  type FieldName,
} from "../format";
import { localStorage } from "../../storage/local/local-storage";
import type { RandomAccessFile, Storage } from "../../storage/port";
import type { DiskImage, DiskKind, DiskWarning, Extent, ParentReference } from "../../disk/image";
import { parentCandidates } from "./parent-locator";

/** Which copy of the footer the image was opened by (docs/vhd-format.md §1.1). */
export type FooterSource = "tail" | "head" | "short-tail";

/** Options of {@link openDiskImage}. */
export interface OpenDiskImageOptions {
  /** Open for writing too (the writer's use). Implies `strict`. */
  writable?: boolean;
  /**
   * Refuse a wrong footer or header checksum, a missing tail footer and other repairable damage, instead of reading
   * on with a warning (the default when reading, as libvhdi does: the dfvfs samples `image.vhd` and
   * `image-differential.vhd` carry stale checksums that qemu refuses).
   */
  strict?: boolean;
  /** The input the path came from, named in errors (e.g. `parentPath`). */
  parameter?: ErrorParameter;
  /** Where the file is (default: this machine). */
  storage?: Storage;
}

/** A parent locator with its data decoded. */
export interface ParentLocator {
  slot: number;
  entry: ParentLocatorEntry;
  /** The path it names, as stored (Windows separators kept); `null` when the code holds no path. */
  path: string | null;
}

/** The facts of the two footer copies and the header checksum, for `verifyDisk`. */
export interface IntegrityFacts {
  tailFooter: { present: boolean; checksumValid: boolean };
  headFooter: { present: boolean; checksumValid: boolean } | null;
  headMatchesTail: boolean | null;
  headerChecksumValid: boolean | null;
}

/** Cap on cached block bitmaps per image (each is one sector for 2 MiB blocks): bounds memory on huge disks. */
const BITMAP_CACHE_LIMIT = 4096;
/** Locator data larger than this is refused: no producer needs more than Hyper-V's 64 KiB slots. */
const MAX_LOCATOR_DATA = 64 * 1024;

type FooterField = FieldName<typeof FOOTER_LAYOUT>;
type HeaderField = FieldName<typeof DYNAMIC_HEADER_LAYOUT>;
const footerFieldOffset = (name: FooterField): number => fieldOf(FOOTER_LAYOUT, name).offset;
const headerFieldOffset = (name: HeaderField): number => fieldOf(DYNAMIC_HEADER_LAYOUT, name).offset;

/**
 * One open VHD file, the VHD driver's {@link DiskImage}. Construct it with {@link openDiskImage}; close it with
 * {@link VhdImage.close}. All fields are validated; offsets inside the file are guaranteed to be within it.
 */
/** The dynamic header fields a relink rewrites. */
const PARENT_LINK_FIELDS = ["checksum", "parentTimeStamp", "parentUnicodeName", "parentLocatorEntries"] as const;

export class VhdImage implements DiskImage {
  readonly format = "vhd";
  /** VHD addresses 512-byte sectors only (SPEC). */
  readonly logicalSectorSize = SECTOR_SIZE;
  readonly physicalSectorSize = SECTOR_SIZE;
  private readonly bitmapCache = new Map<number, Uint8Array>();

  constructor(
    /** The open file (the writer writes through it). */
    readonly file: RandomAccessFile,
    /** The footer in use. */
    readonly footer: Footer,
    /** Where that footer was found. */
    readonly footerSource: FooterSource,
    /** The dynamic header; `null` for a fixed disk. */
    readonly header: DynamicHeader | null,
    /** The BAT (sector numbers, UNUSED_BAT_ENTRY for unallocated blocks); `null` for a fixed disk. */
    readonly bat: Uint32Array | null,
    /** The parent locators in use (non-empty slots), decoded. */
    readonly locators: ParentLocator[],
    /** Checksum and copy facts. */
    readonly integrity: IntegrityFacts,
    /** What was odd but readable. */
    readonly warnings: DiskWarning[],
    /**
     * Facts worth knowing that are not damage: real producers write them on purpose (a 511-byte footer from before
     * Virtual PC 2004, ...). `verifyDisk` lists them without failing.
     */
    readonly notes: string[],
  ) {}

  /** The path the image was opened by. */
  get path(): string {
    return this.file.path;
  }

  /** `fixed`, `dynamic` or `differencing`. */
  get kind(): DiskKind {
    return this.footer.diskType === DiskType.Fixed
      ? "fixed"
      : this.footer.diskType === DiskType.Dynamic
        ? "dynamic"
        : "differencing";
  }

  /** The footer's unique id, hex in file byte order: what a child records of this disk (compared raw, §4). */
  get uniqueId(): string {
    return formatUniqueId(this.footer.uniqueId);
  }

  /** The footer's unique id: a VHD's linkage id never changes on a data write, so it is the file's identity too. */
  get fileId(): string {
    return this.uniqueId;
  }

  /**
   * A differencing disk's parent: the candidates its locators and parent name give (parent-locator.ts), the
   * parent's unique id it records and its parent time stamp (0, "not recorded", as Hyper-V writes it: §2.3).
   */
  parentReference(): ParentReference | null {
    const { header } = this;
    if (header === null || this.kind !== "differencing") return null;
    return {
      candidates: parentCandidates(this.path, header.parentUnicodeName, this.locators),
      uniqueId: formatUniqueId(header.parentUniqueId),
      name: header.parentUnicodeName,
      recordedModifiedTime: header.parentTimeStamp === 0 ? null : dateFromVhdTimeStamp(header.parentTimeStamp),
    };
  }

  /**
   * A differencing disk's parent link, in the dynamic header the footer points at: the header's checksum, parent
   * time stamp, parent unicode name and the 8 locator entries, plus each locator's whole reserved data area.
   */
  parentLinkRanges(): { offset: number; length: number }[] {
    const headerOffset = this.footer.dataOffset;
    if (this.kind !== "differencing" || headerOffset === null) return [];
    const fields = PARENT_LINK_FIELDS.map((name) => {
      const field = fieldOf(DYNAMIC_HEADER_LAYOUT, name);
      return { offset: headerOffset + field.offset, length: field.size };
    });
    const areas = this.locators.map(({ entry }) => ({
      offset: entry.platformDataOffset,
      length: locatorDataSpaceBytes(entry.platformDataSpace) ?? entry.platformDataLength,
    }));
    return [...fields, ...areas];
  }

  /** The virtual disk size in bytes (the footer's current size). */
  get virtualSize(): number {
    return this.footer.currentSize;
  }

  /** Bytes per block; `null` for a fixed disk. */
  get blockSize(): number | null {
    return this.header?.blockSize ?? null;
  }

  /** Bytes of the tail footer: 511 for a disk made before Virtual PC 2004 (SPEC), else 512. */
  get footerLength(): number {
    return footerLengthOf(this.footerSource);
  }

  /** Where the tail footer is (or belongs): the last {@link footerLength} bytes of the file. */
  get footerOffset(): number {
    return this.file.size - this.footerLength;
  }

  /**
   * Splits the virtual range `[offset, offset + length)` into extents this file holds (`data`, with its file
   * offset), knows to be zero (`zero`: a dynamic disk's unallocated block), or leaves to its parent (`parent`).
   * Adjacent extents of the same kind are merged; data extents only when contiguous in the file.
   */
  async mapRange(offset: number, length: number): Promise<Extent[]> {
    const extents: Extent[] = [];
    const push = (extent: Extent): void => {
      const last = extents[extents.length - 1];
      if (
        last !== undefined &&
        last.kind === extent.kind &&
        (last.kind !== "data" || extent.kind !== "data" || last.fileOffset + last.length === extent.fileOffset)
      ) {
        last.length += extent.length;
      } else {
        extents.push(extent);
      }
    };
    if (this.header === null || this.bat === null) {
      if (length > 0) push({ kind: "data", offset, length, fileOffset: offset });
      return extents;
    }
    const { blockSize } = this.header;
    const differencing = this.kind === "differencing";
    const end = offset + length;
    let position = offset;
    while (position < end) {
      const blockIndex = Math.floor(position / blockSize);
      const blockStart = blockIndex * blockSize;
      const blockEnd = Math.min(blockStart + blockSize, end);
      const entry = this.bat[blockIndex] ?? UNUSED_BAT_ENTRY;
      if (entry === UNUSED_BAT_ENTRY) {
        push({ kind: differencing ? "parent" : "zero", offset: position, length: blockEnd - position });
      } else if (!differencing) {
        // A dynamic disk's bitmap carries no meaning for reads: sectors never written are zero in the block (SPEC).
        const fileOffset = blockDataOffset(entry, blockSize) + (position - blockStart);
        push({ kind: "data", offset: position, length: blockEnd - position, fileOffset });
      } else {
        const bitmap = await this.blockBitmap(blockIndex, entry);
        const dataStart = blockDataOffset(entry, blockSize);
        const limitSector = Math.ceil((blockEnd - blockStart) / SECTOR_SIZE);
        while (position < blockEnd) {
          const sector = Math.floor((position - blockStart) / SECTOR_SIZE);
          const run = sectorRunLength(bitmap, sector, limitSector);
          const runEnd = Math.min(blockStart + (sector + run) * SECTOR_SIZE, blockEnd);
          const inChild = (bitmap[sector >>> 3] ?? 0) & (0x80 >>> (sector & 7));
          push(
            inChild
              ? { kind: "data", offset: position, length: runEnd - position, fileOffset: dataStart + (position - blockStart) }
              : { kind: "parent", offset: position, length: runEnd - position },
          );
          position = runEnd;
        }
      }
      position = blockEnd;
    }
    return extents;
  }

  /** The sector bitmap of an allocated block (cached, bounded). */
  async blockBitmap(blockIndex: number, batEntry: number): Promise<Uint8Array> {
    const cached = this.bitmapCache.get(blockIndex);
    if (cached !== undefined) return cached;
    const bitmap = await this.file.read(batEntry * SECTOR_SIZE, bitmapSize(this.header?.blockSize ?? 0));
    if (this.bitmapCache.size >= BITMAP_CACHE_LIMIT) this.bitmapCache.clear();
    this.bitmapCache.set(blockIndex, bitmap);
    return bitmap;
  }

  /** Forgets cached bitmaps (the writer calls this after changing one). */
  invalidateBitmap(blockIndex: number): void {
    this.bitmapCache.delete(blockIndex);
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.file.close();
  }
}

/** Builds the error of a structural problem: names the file, the field and its offset in the file. */
function corrupt(
  image: RandomAccessFile,
  parameter: ErrorParameter | undefined,
  code: ErrorName,
  field: string,
  offset: number,
  reason: string,
  facts: Record<string, unknown> = {},
): VhdError {
  return new VhdError(code, `${reason} (field ${field} at file offset ${offset})`, {
    parameter,
    path: image.path,
    details: { field, offset, file: image.path, ...facts },
  });
}

/** The length of the footer found at `source`: the SPEC allows the tail footer to be the last 511 or 512 bytes. */
function footerLengthOf(source: FooterSource): number {
  return source === "short-tail" ? SHORT_FOOTER_SIZE : FOOTER_SIZE;
}

interface FooterCandidate {
  source: FooterSource;
  offset: number;
  bytes: Uint8Array;
  decoded: DecodedFooter;
  present: boolean;
}

async function readFooterCandidate(file: RandomAccessFile, source: FooterSource): Promise<FooterCandidate | null> {
  const size = footerLengthOf(source);
  const offset = source === "head" ? 0 : file.size - size;
  if (offset < 0) return null;
  // The 511-byte footer of pre-2004 images lacks its last (reserved) byte: read it as zero (SPEC; blktap).
  const bytes = await file.read(offset, size, new Uint8Array(FOOTER_SIZE));
  const decoded = decodeFooter(bytes);
  return { source, offset, bytes, decoded, present: decoded.footer.cookie === FOOTER_COOKIE };
}

/**
 * Finds the footer the way the SPEC and blktap do: the tail copy (the last 512 bytes, or the last 511 of a file made
 * before Virtual PC 2004), else the head copy (dynamic and differencing disks keep one at offset 0). A copy with a
 * wrong checksum is used only when no good one exists, and then only when not strict. `tail` is whichever tail
 * copy is present (the 511-byte one when only it is).
 */
async function findFooter(
  file: RandomAccessFile,
  strict: boolean,
  parameter: ErrorParameter | undefined,
  warnings: DiskWarning[],
): Promise<{ chosen: FooterCandidate; tail: FooterCandidate | null; head: FooterCandidate | null }> {
  if (file.size < SHORT_FOOTER_SIZE) {
    throw new VhdError(
      "ERROR_VHD_DRIVE_FOOTER_MISSING",
      `the file is ${file.size} bytes long, too short to hold a VHD footer (512 bytes)`,
      { parameter, path: file.path, details: { field: "footer", offset: 0, file: file.path, fileSize: file.size } },
    );
  }
  const tail = await readFooterCandidate(file, "tail");
  const head = file.size >= FOOTER_SIZE ? await readFooterCandidate(file, "head") : null;
  const shortTail = file.size % SECTOR_SIZE === SHORT_FOOTER_SIZE ? await readFooterCandidate(file, "short-tail") : null;
  const headIsSparse = (candidate: FooterCandidate | null): boolean =>
    candidate !== null &&
    (candidate.decoded.footer.diskType === DiskType.Dynamic || candidate.decoded.footer.diskType === DiskType.Differencing);
  const usable = [tail, shortTail, headIsSparse(head) ? head : null].filter(
    (candidate): candidate is FooterCandidate => candidate !== null && candidate.present,
  );
  const good = usable.find((candidate) => candidate.decoded.checksumValid);
  const chosen = good ?? usable[0];
  if (chosen === undefined) {
    const signature = head === null ? "" : Buffer.from(await file.read(0, 8)).toString("latin1");
    const what =
      signature === VHDX_SIGNATURE
        ? "this is a VHDX file, not a VHD; VHDX is not supported"
        : `no "${FOOTER_COOKIE}" footer at the end or the start of the file: it is not a VHD (a raw image?)`;
    throw new VhdError("ERROR_VHD_FORMAT_UNKNOWN", what, {
      parameter,
      path: file.path,
      details: { field: "cookie", offset: Math.max(file.size - FOOTER_SIZE, 0), file: file.path },
    });
  }
  const checksumOffset = chosen.offset + footerFieldOffset("checksum");
  if (!chosen.decoded.checksumValid) {
    const reason =
      `the footer checksum is wrong: stored 0x${chosen.decoded.storedChecksum.toString(16)}, ` +
      `computed 0x${chosen.decoded.computedChecksum.toString(16)}`;
    if (strict) {
      throw corrupt(file, parameter, "ERROR_VHD_DRIVE_FOOTER_CHECKSUM_MISMATCH", "checksum", checksumOffset, reason);
    }
    warnings.push({ code: "ERROR_VHD_DRIVE_FOOTER_CHECKSUM_MISMATCH", message: reason, field: "checksum", offset: checksumOffset });
  }
  if (chosen.source === "head") {
    const reason = "the footer at the end of the file is missing or damaged; read the copy at offset 0";
    if (strict) throw corrupt(file, parameter, "ERROR_VHD_DRIVE_FOOTER_MISSING", "footer", file.size - FOOTER_SIZE, reason);
    warnings.push({ code: "ERROR_VHD_DRIVE_FOOTER_MISSING", message: reason, field: "footer", offset: chosen.offset });
  }
  const presentTail = tail?.present === true ? tail : shortTail?.present === true ? shortTail : tail;
  return { chosen, tail: presentTail, head };
}

function validateFooter(
  file: RandomAccessFile,
  candidate: FooterCandidate,
  parameter: ErrorParameter | undefined,
  warnings: DiskWarning[],
): void {
  const { footer } = candidate.decoded;
  const footerOffset = file.size - footerLengthOf(candidate.source);
  const at = (name: FooterField): number => candidate.offset + footerFieldOffset(name);
  const fail = (code: ErrorName, field: FooterField, reason: string, facts = {}): VhdError =>
    corrupt(file, parameter, code, field, at(field), reason, facts);
  if (footer.fileFormatVersion !== FILE_FORMAT_VERSION) {
    throw fail(
      "ERROR_VHD_FORMAT_UNSUPPORTED_VERSION",
      "fileFormatVersion",
      `file format version 0x${footer.fileFormatVersion.toString(16)} is not VHD 1.0 (0x10000)`,
    );
  }
  if (![DiskType.Fixed, DiskType.Dynamic, DiskType.Differencing].includes(footer.diskType)) {
    throw fail(
      "ERROR_VHD_DRIVE_FOOTER_CORRUPT",
      "diskType",
      `disk type ${footer.diskType} is not fixed (2), dynamic (3) or differencing (4)`,
    );
  }
  if (footer.currentSize > MAX_VIRTUAL_SIZE) {
    throw fail(
      "VM_E_IMAGE_SIZE_TOO_LARGE",
      "currentSize",
      `the virtual size ${footer.currentSize} bytes is above the VHD limit of 2040 GiB (${MAX_VIRTUAL_SIZE} bytes)`,
      { currentSize: footer.currentSize },
    );
  }
  if (footer.currentSize % SECTOR_SIZE !== 0 || footer.currentSize === 0) {
    throw fail("ERROR_VHD_INVALID_SIZE", "currentSize", `the virtual size ${footer.currentSize} is not a positive multiple of 512`);
  }
  if ((footer.features & ~FEATURES_TEMPORARY) !== FEATURES_RESERVED) {
    warnings.push({
      code: "ERROR_VHD_DRIVE_FOOTER_CORRUPT",
      message: `features 0x${footer.features.toString(16)}: bit 1 must be set and only bits 0-1 may be`,
      field: "features",
      offset: at("features"),
    });
  }
  if (footer.diskType === DiskType.Fixed) {
    checkFixedFileSize(file, candidate, footerOffset, parameter, warnings);
    return;
  }
  const headerEnd = (footer.dataOffset ?? 0) + DYNAMIC_HEADER_SIZE;
  if (footer.dataOffset === null || footer.dataOffset % SECTOR_SIZE !== 0 || headerEnd > footerOffset) {
    throw fail(
      "ERROR_VHD_DRIVE_FOOTER_CORRUPT",
      "dataOffset",
      `the dynamic header offset ${footer.dataOffset ?? "0xFFFFFFFFFFFFFFFF"} is not a sector inside the file (${file.size} bytes)`,
    );
  }
}

/**
 * A fixed disk is its data followed by the footer (SPEC "Fixed Hard Disk Image"), so its file size is exactly the
 * virtual size plus the footer. Shorter cannot be read (`ERROR_VHD_INVALID_FILE_SIZE`); longer means bytes between
 * the data and the footer that no reader agrees on (a broken upload writes such files), reported as a warning so the
 * data stays readable while `verify` fails and validation refuses the disk as a parent.
 */
function checkFixedFileSize(
  file: RandomAccessFile,
  candidate: FooterCandidate,
  footerOffset: number,
  parameter: ErrorParameter | undefined,
  warnings: DiskWarning[],
): void {
  const { currentSize } = candidate.decoded.footer;
  const expected = currentSize + footerLengthOf(candidate.source);
  if (file.size === expected) return;
  const offset = candidate.offset + footerFieldOffset("currentSize");
  const facts = { currentSize, expectedFileSize: expected, fileSize: file.size };
  if (file.size < expected) {
    const reason = `a fixed disk of ${currentSize} bytes needs a file of ${expected} bytes; this one has ${file.size}`;
    throw corrupt(file, parameter, "ERROR_VHD_INVALID_FILE_SIZE", "currentSize", offset, reason, facts);
  }
  warnings.push({
    code: "ERROR_VHD_INVALID_FILE_SIZE",
    message:
      `a fixed disk of ${currentSize} bytes is a file of ${expected} bytes; this one has ${file.size}: ` +
      `${footerOffset - currentSize} bytes lie between the data and the footer (a damaged copy or upload?)`,
    field: "currentSize",
    offset,
  });
}

function validateHeader(
  file: RandomAccessFile,
  footer: Footer,
  footerOffset: number,
  headerOffset: number,
  decoded: ReturnType<typeof decodeDynamicHeader>,
  strict: boolean,
  parameter: ErrorParameter | undefined,
  warnings: DiskWarning[],
): void {
  const { header } = decoded;
  const at = (name: HeaderField): number => headerOffset + headerFieldOffset(name);
  const fail = (code: ErrorName, field: HeaderField, reason: string): VhdError =>
    corrupt(file, parameter, code, field, at(field), reason);
  if (header.cookie !== DYNAMIC_HEADER_COOKIE) {
    throw fail("ERROR_VHD_SPARSE_HEADER_CORRUPT", "cookie", `the dynamic header has no "${DYNAMIC_HEADER_COOKIE}" cookie`);
  }
  if (!decoded.checksumValid) {
    const reason =
      `the dynamic header checksum is wrong: stored 0x${decoded.storedChecksum.toString(16)}, ` +
      `computed 0x${decoded.computedChecksum.toString(16)}`;
    if (strict) throw fail("ERROR_VHD_SPARSE_HEADER_CHECKSUM_MISMATCH", "checksum", reason);
    warnings.push({ code: "ERROR_VHD_SPARSE_HEADER_CHECKSUM_MISMATCH", message: reason, field: "checksum", offset: at("checksum") });
  }
  if (header.headerVersion !== DYNAMIC_HEADER_VERSION) {
    throw fail(
      "ERROR_VHD_SPARSE_HEADER_UNSUPPORTED_VERSION",
      "headerVersion",
      `dynamic header version 0x${header.headerVersion.toString(16)} is not 0x10000`,
    );
  }
  const { blockSize, maxTableEntries, tableOffset } = header;
  // The SPEC asks for a power-of-two multiple of the sector size; qemu and blktap refuse anything else.
  if (blockSize < SECTOR_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw fail("ERROR_VHD_INVALID_BLOCK_SIZE", "blockSize", `block size ${blockSize} is not a power of two of at least 512`);
  }
  const needed = maxTableEntriesFor(footer.currentSize, blockSize);
  if (maxTableEntries < needed) {
    throw fail(
      "ERROR_VHD_SPARSE_HEADER_CORRUPT",
      "maxTableEntries",
      `${maxTableEntries} BAT entries of ${blockSize} bytes cannot cover the virtual size ${footer.currentSize} (needs ${needed})`,
    );
  }
  if (maxTableEntries > needed) {
    warnings.push({
      code: "ERROR_VHD_SPARSE_HEADER_CORRUPT",
      message: `${maxTableEntries} BAT entries where the size needs ${needed}`,
      field: "maxTableEntries",
      offset: at("maxTableEntries"),
    });
  }
  const batEnd = tableOffset + batByteSize(maxTableEntries);
  const overlapsHeader = tableOffset < headerOffset + DYNAMIC_HEADER_SIZE && batEnd > headerOffset;
  if (tableOffset % SECTOR_SIZE !== 0 || tableOffset < FOOTER_SIZE || overlapsHeader || batEnd > footerOffset) {
    throw fail(
      "ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT",
      batEnd > footerOffset && tableOffset < file.size ? "maxTableEntries" : "tableOffset",
      `the BAT (${maxTableEntries} entries at offset ${tableOffset}, ending at ${batEnd}) is not a sector-aligned ` +
        `table between the metadata and the tail footer of this ${file.size}-byte file`,
    );
  }
  if (header.dataOffset !== null) {
    warnings.push({
      code: "ERROR_VHD_SPARSE_HEADER_CORRUPT",
      message: "the header's data offset should be all ones (0xFFFFFFFFFFFFFFFF)",
      field: "dataOffset",
      offset: at("dataOffset"),
    });
  }
}

function validateBat(
  file: RandomAccessFile,
  header: DynamicHeader,
  bat: Uint32Array,
  footerOffset: number,
  parameter: ErrorParameter | undefined,
): void {
  const span = blockSpan(header.blockSize);
  const limit = footerOffset;
  const bitmapBytes = bitmapSize(header.blockSize);
  // Read once, not per entry (up to 1M): the compiled CommonJS re-exports of ./format are getters.
  const [sectorSize, lowestBlockStart] = [SECTOR_SIZE, FOOTER_SIZE];
  forEachAllocated(bat, (index, entry) => {
    const blockStart = entry * sectorSize;
    // A block may end short of its span only when the file simply stops early (sparse tail): reads past EOF are zeros.
    if (blockStart < lowestBlockStart || blockStart + bitmapBytes > limit) {
      throw corrupt(
        file,
        parameter,
        "ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT",
        `bat[${index}]`,
        header.tableOffset + index * 4,
        `block ${index} is at sector ${entry} (offset ${blockStart}), outside the ${file.size}-byte file`,
        { blockIndex: index, entry, blockSpan: span },
      );
    }
  });
}

async function readLocators(
  file: RandomAccessFile,
  header: DynamicHeader,
  headerOffset: number,
  parameter: ErrorParameter | undefined,
): Promise<ParentLocator[]> {
  const locators: ParentLocator[] = [];
  for (const [slot, entry] of header.locators.entries()) {
    if (entry.platformCode === "" && entry.platformDataLength === 0) continue;
    const entryOffset = headerOffset + headerFieldOffset("parentLocatorEntries") + slot * LOCATOR_ENTRY_SIZE;
    const { platformDataOffset, platformDataLength } = entry;
    if (platformDataLength > MAX_LOCATOR_DATA || platformDataOffset + platformDataLength > file.size) {
      throw corrupt(
        file,
        parameter,
        "ERROR_VHD_SPARSE_HEADER_CORRUPT",
        `locators[${slot}].platformDataOffset`,
        entryOffset,
        `parent locator ${slot} (${entry.platformCode}) points at ${platformDataLength} bytes at offset ` +
          `${platformDataOffset}, outside the ${file.size}-byte file`,
      );
    }
    const data = await file.read(platformDataOffset, platformDataLength);
    locators.push({ slot, entry, path: decodeLocatorData(entry.platformCode, data) });
  }
  return locators;
}

/**
 * The unique id of the parent the VHD in `file` records (its dynamic header's Parent Unique ID, as
 * `parentReference()` gives it), or `null` for a disk that is not differencing. Reads the footer and the header only,
 * no BAT (4 MiB at 2040 GiB) and no locators: a delete looks at every sibling in its folder (disk/child-disks.ts).
 * @throws the footer's and header's structural errors, as {@link readDiskImage} (not strict).
 */
export async function recordedParentId(file: RandomAccessFile, parameter?: ErrorParameter): Promise<string | null> {
  const warnings: DiskWarning[] = [];
  const { chosen } = await findFooter(file, false, parameter, warnings);
  validateFooter(file, chosen, parameter, warnings);
  const { footer } = chosen.decoded;
  if (footer.diskType !== DiskType.Differencing) return null;
  const headerOffset = footer.dataOffset ?? 0;
  const decoded = decodeDynamicHeader(await file.read(headerOffset, DYNAMIC_HEADER_SIZE));
  validateHeader(file, footer, file.size - footerLengthOf(chosen.source), headerOffset, decoded, false, parameter, warnings);
  return formatUniqueId(decoded.header.parentUniqueId);
}

/**
 * Opens a VHD file and validates its structure.
 *
 * @throws VhdError with a virtdisk code naming the file, the field and its offset (`details.field`,
 *   `details.offset`): `ERROR_VHD_FORMAT_UNKNOWN` (not a VHD, or VHDX), `ERROR_VHD_DRIVE_FOOTER_MISSING`,
 *   `..._CHECKSUM_MISMATCH` (strict), `ERROR_VHD_DRIVE_FOOTER_CORRUPT`, `ERROR_VHD_SPARSE_HEADER_CORRUPT`,
 *   `ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT`, `ERROR_VHD_INVALID_BLOCK_SIZE`, `VM_E_IMAGE_SIZE_TOO_LARGE`, ...;
 *   file-system errors as `ERROR_PATH_NOT_FOUND`, `ERROR_ACCESS_DENIED`, ...
 */
export async function openDiskImage(path: string, options: OpenDiskImageOptions = {}): Promise<VhdImage> {
  const storage = options.storage ?? localStorage;
  const file = await storage.open(path, { writable: options.writable ?? false, parameter: options.parameter });
  try {
    return await readDiskImage(file, options);
  } catch (error) {
    await file.close();
    throw error;
  }
}

/**
 * Reads and validates the VHD in `file`, already open (by {@link openDiskImage}, or any other
 * {@link RandomAccessFile}: an operation that must survive a crash at any write is tested on an in-memory one).
 * The returned image owns `file` (closing it closes the file); on failure the caller still owns it.
 *
 * @throws what {@link openDiskImage} throws, file-system errors aside.
 */
export async function readDiskImage(file: RandomAccessFile, options: OpenDiskImageOptions = {}): Promise<VhdImage> {
  const { parameter } = options;
  const strict = options.strict ?? options.writable ?? false;
  const warnings: DiskWarning[] = [];
  const { chosen, tail, head } = await findFooter(file, strict, parameter, warnings);
  validateFooter(file, chosen, parameter, warnings);
  const { footer } = chosen.decoded;
  const footerOffset = file.size - footerLengthOf(chosen.source);
  const notes =
    chosen.source === "short-tail"
      ? ["the file ends in a 511-byte footer, as disks made before Virtual PC 2004 do (the SPEC allows it)"]
      : [];
  const integrity: IntegrityFacts = {
    tailFooter: { present: tail?.present ?? false, checksumValid: (tail?.present ?? false) && (tail?.decoded.checksumValid ?? false) },
    headFooter: null,
    headMatchesTail: null,
    headerChecksumValid: null,
  };
  if (footer.diskType === DiskType.Fixed) {
    return new VhdImage(file, footer, chosen.source, null, null, [], integrity, warnings, notes);
  }
  const headerOffset = footer.dataOffset ?? 0;
  integrity.headFooter = { present: head?.present ?? false, checksumValid: (head?.present ?? false) && (head?.decoded.checksumValid ?? false) };
  integrity.headMatchesTail = head !== null && tail !== null && Buffer.from(head.bytes).equals(tail.bytes);
  const decodedHeader = decodeDynamicHeader(await file.read(headerOffset, DYNAMIC_HEADER_SIZE));
  validateHeader(file, footer, footerOffset, headerOffset, decodedHeader, strict, parameter, warnings);
  integrity.headerChecksumValid = decodedHeader.checksumValid;
  const { header } = decodedHeader;
  const bat = decodeBat(await file.read(header.tableOffset, header.maxTableEntries * 4), header.maxTableEntries);
  validateBat(file, header, bat, footerOffset, parameter);
  const locators = footer.diskType === DiskType.Differencing ? await readLocators(file, header, headerOffset, parameter) : [];
  return new VhdImage(file, footer, chosen.source, header, bat, locators, integrity, warnings, notes);
}
