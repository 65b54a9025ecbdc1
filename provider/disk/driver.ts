/**
 * What a disk format contributes: recognising its files, opening them as a {@link DiskImage}, and the facts creation
 * and validation need. `vhd/driver.ts` is the first driver; `formats.ts` holds the list and picks one.
 */
import type { ErrorParameter } from "../errors";
import type { Storage } from "../storage/port";
import type { ProgressCallback } from "../support/progress";
import type { RandomAccessFile } from "../storage/random-access-file";
import type { DiskChain } from "./chain";
import type { DiskContent } from "./content";
import type { ChainErrorInfo, DiskInfo } from "./disk-info";
import type { DiskFormat, DiskImage } from "./image";

/** Options of {@link DiskFormatDriver.open}. */
export interface OpenImageOptions {
  /**
   * Refuse repairable damage (a stale checksum, a missing copy of a structure) instead of reading on with a warning.
   * A driver opening a file for writing is always strict.
   */
  strict?: boolean;
  /** The input the path came from, named in errors (e.g. `parentPath`). */
  parameter?: ErrorParameter;
  /**
   * Read the block map only as reads touch it, for a short job on a disk whose map is large (one write: a 64 TB VHDX
   * of 1 MiB blocks has a 512 MiB BAT). What is read is checked entry by entry; a driver may read it whole anyway.
   */
  mapsOnDemand?: boolean;
}

/** The file sizes of a new disk, for the volume checks before it is written (bytes). */
export interface NewFileSizes {
  /** The file's size once written, before any data is written into the disk (all metadata; a fixed disk's all). */
  initialFileSize: number;
  /** The file's size once every block is allocated. */
  fullyExpandedSize: number;
}

/**
 * What a new child records of its parent, read right before the child is written (validation's re-check): the
 * driver's own record of the parent, opaque above the driver but for its format and modification time.
 */
export interface ParentFacts {
  readonly format: DiskFormat;
  /** The parent file's modification time. */
  readonly modified: Date;
  /** The identity a child records of the parent, in the form {@link DiskImage.uniqueId} takes. */
  readonly uniqueId: string;
  /** The parent's virtual size in bytes. */
  readonly virtualSize: number;
}

/** Options of {@link DiskFormatDriver.createDifferencing}. */
export interface CreateDifferencingOptions {
  /** Where the child will live (its final name, not the temporary file): relative parent records start there. */
  imagePath: string;
  /** The parent's path as validation resolved it. */
  parentPath: string;
  /** Bytes per block, as {@link DiskFormatDriver.checkBlockSize} returned it. */
  blockSize: number;
  /** Stops the write with `VM_E_APP_SHUTTING_DOWN`. */
  signal?: AbortSignal;
}

/** Options of {@link DiskFormatDriver.relinkParent}. */
export interface RelinkOptions {
  /** The child's path, absolute (relative parent records start at its folder). */
  imagePath: string;
  /** The new parent's path, absolute, as validation resolved it. */
  parentPath: string;
  /**
   * The child's {@link DiskImage.uniqueId} when the caller checked it: a file that no longer has it was replaced or
   * written meanwhile, and is left as it is.
   */
  expectedUniqueId: string;
}

/** Options of {@link DiskFormatDriver.writeAt}. */
export interface WriteAtOptions {
  /** Cancels between blocks with `VM_E_APP_SHUTTING_DOWN`; blocks already written stay written (the disk stays consistent). */
  signal?: AbortSignal;
  /** Where the disk and its ancestors are (default: this machine). */
  storage?: Storage;
}

/** What {@link DiskFormatDriver.writeAt} did. */
export interface WriteAtResult {
  bytesWritten: number;
  /** Data blocks the write put into the file. */
  blocksAllocated: number;
  /** File size afterwards, bytes. */
  fileSize: number;
}

/** Options of {@link DiskFormatDriver.prepareMerge}. */
export interface PrepareMergeOptions {
  /** Where the chain's disks are. */
  storage: Storage;
  /** Passed to each write: cancels between blocks with `VM_E_APP_SHUTTING_DOWN`. */
  signal?: AbortSignal;
}

/**
 * Writes `data` at virtual byte `offset` of a merge's destination, as {@link DiskFormatDriver.writeAt} would, with
 * the same errors.
 */
export type MergeWrite = (offset: number, data: Uint8Array) => Promise<void>;

/** Which kind of base disk: every block allocated up front (`fixed`) or as written (`dynamic`). */
export type BaseKind = "fixed" | "dynamic";

/**
 * A disk's sector sizes in bytes (New-VHD's -LogicalSectorSizeBytes and -PhysicalSectorSizeBytes): the logical one
 * is what the guest addresses, the physical one what it is told to align to. VHD: 512 and 512; VHDX: 512 or 4096 each.
 */
export interface SectorSizes {
  logicalSectorSize: number;
  physicalSectorSize: number;
}

/** Sector sizes as a caller asks for them: either may be left out (undefined: the format's default). */
export type RequestedSectorSizes = { [Name in keyof SectorSizes]?: number | undefined };

/** Options of {@link DiskFormatDriver.createBase}, as validation checked them. */
export interface CreateBaseOptions {
  /** The disk's final path (not the temporary file), for errors. */
  imagePath: string;
  /** Virtual size in bytes, as {@link DiskFormatDriver.checkVirtualSize} accepted it. */
  size: number;
  type: BaseKind;
  /** Bytes per block, as {@link DiskFormatDriver.checkBaseBlockSize} returned it. */
  blockSize: number;
  /** As {@link DiskFormatDriver.checkSectorSizes} returned them. */
  sectorSizes: SectorSizes;
  /**
   * The bytes the disk starts with (a raw image, another disk's chain): only its blocks that hold data are written;
   * all-zero blocks of a dynamic disk stay unallocated, of a fixed one a hole. None: an empty disk.
   */
  content?: DiskContent;
  /** Progress of the copy from `content` (bytes of the content). */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** One check of {@link DiskFormatDriver.verify}. */
export interface VerifyCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** The outcome of {@link DiskFormatDriver.verify}: `ok` only when every check holds; notes never fail it. */
export interface VerifyReport {
  path: string;
  ok: boolean;
  checks: VerifyCheck[];
  /**
   * Facts real producers write on purpose, worth knowing but not damage: a stored geometry other than the SPEC's
   * algorithm (qemu's force_size writes 65535/16/255), a 511-byte footer, blocks not 4 KiB-aligned, bitmap bits
   * past the end of the disk, an ancestor that reads with warnings.
   */
  notes: string[];
}

/** One disk format. Implementations hold no state: one instance serves every file of the format. */
export interface DiskFormatDriver {
  readonly format: DiskFormat;
  /** File name extensions a new disk of this format takes, lower case with the dot (`.vhd`, `.avhd`). */
  readonly extensions: readonly string[];
  /**
   * Whether `file` carries this format's signature where the format puts it (VHD: the `conectix` footer cookie at
   * the end, or at the start for the head copy). Reads a few bytes; never throws for a foreign file.
   */
  probe(file: RandomAccessFile): Promise<boolean>;
  /**
   * Reads and validates the disk in `file`, already open. The image owns `file` from then on; on failure the caller
   * still owns it.
   * @throws the format's structural errors from the one table (`ERROR_VHD_DRIVE_FOOTER_MISSING`, ...).
   */
  open(file: RandomAccessFile, options?: OpenImageOptions): Promise<DiskImage>;
  /**
   * The unique ids a parent of the disk in `file` may have (`parentReference()`'s `uniqueId`, then its
   * `alternativeUniqueIds`), none for a disk that is not differencing, reading as little as the format allows (VHD:
   * footer and header, no BAT). The caller closes `file`. What a scan of many disks for a parent's children asks
   * (disk/child-disks.ts).
   * @throws the format's structural errors.
   */
  recordedParentIds(file: RandomAccessFile): Promise<readonly string[]>;
  /**
   * The block size a new disk at `path` gets: `blockSize` when the format allows it, its default when undefined.
   * @throws the format's block-size error (`ERROR_VHD_INVALID_BLOCK_SIZE`, parameter `blockSize`, path as `imagePath`).
   */
  checkBlockSize(blockSize: number | undefined, path: string): number;
  /**
   * The sizes of a new differencing disk's file off a parent of `virtualSize` bytes, with blocks of `blockSize` (as
   * {@link checkBlockSize} returned it): what validation checks the target volume against, before anything is written.
   */
  differencingFileSizes(virtualSize: number, blockSize: number): NewFileSizes;
  /**
   * What a new child of the disk open as `file` (a file of this format; the caller closes it) records of it, read
   * now, its mtime from `storage`: the re-check right before a child is written (inputs/validate.ts
   * `recheckParent`). Reads as little as the format allows (VHD: the footer; VHDX: headers, metadata and BAT).
   * @throws the format's structural errors, parameter `parentPath`.
   */
  readParentFacts(file: RandomAccessFile, storage: Storage): Promise<ParentFacts>;
  /**
   * Fills `target`, an empty (temporary) file, with a new differencing disk of this format whose parent is described
   * by `parent` (as validation's re-check read it): the parent's identity, size and where to find it recorded, no
   * data. The parent is not read again. Checking the parent's chain is the caller's job (validation).
   * @throws `ERROR_VHD_INVALID_TYPE` for a parent of another format (a chain never mixes formats),
   *   `VM_E_APP_SHUTTING_DOWN`, write errors (`ERROR_DISK_FULL`, ...).
   */
  createDifferencing(target: RandomAccessFile, parent: ParentFacts, options: CreateDifferencingOptions): Promise<void>;
  /**
   * Points the differencing disk open (writable) as `file` at `parent` (as {@link readParentFacts} read it, now at
   * `options.parentPath`), crash-safely: a crash at any point leaves the disk opening against its old or its new
   * parent path. Only what says where the parent is and who it is changes (VHD: the dynamic header's parent fields
   * and locators; VHDX: the parent locator item, through the log); the child's data, block table and linkage id stay,
   * and the parent is not read. Checking that `parent` is the right one (id, size, no loop) is the caller's job.
   * @throws `ERROR_VHD_INVALID_TYPE` (not a differencing disk; a parent of another format, parameter `parentPath`),
   *   `ERROR_ACCESS_DENIED` (the file is no longer the one checked), the format's structural errors, I/O errors.
   */
  relinkParent(file: RandomAccessFile, parent: ParentFacts, options: RelinkOptions): Promise<void>;
  /**
   * Writes `data` at virtual byte `offset` of the disk at `path` (a file of this format), allocating blocks as
   * needed; a differencing disk's parent is read (for a partly written sector) and never written.
   * @throws `E_INVALIDARG` (range outside the disk), the disk's and its chain's open errors, `VM_E_APP_SHUTTING_DOWN`,
   *   write errors (`ERROR_DISK_FULL`, ...).
   */
  writeAt(path: string, offset: number, data: Uint8Array, options?: WriteAtOptions): Promise<WriteAtResult>;
  /**
   * Readies `chain.images[depth]` (a disk of this format, an ancestor of the leaf) to take the sectors of the disks
   * above it (a merge, disk/merge.ts), before anything is written into it, and returns how to write them: the chain
   * read through the leaf must open and read the same before, between and after those writes. VHD: nothing to ready
   * (the disk above links to it by unique id, which a write keeps). VHDX: a write renews the DataWriteGuid the disk
   * above links by, so that disk first records the one the merge will write under as `parent_linkage2`, in one
   * logged relink, and every write goes under it (MS-VHDX §2.6.2.6.3 note <12>; docs/vhdx-format.md §5).
   * The caller checked that `depth` (at least 1) names an ancestor.
   * @throws the relink's errors for the disk above (VHDX), I/O errors; each write: {@link writeAt}'s errors.
   */
  prepareMerge(chain: DiskChain, depth: number, options: PrepareMergeOptions): Promise<MergeWrite>;
  /**
   * Checks a base disk's virtual size (bytes) against the format's rules (VHD: 512-byte sectors, 2040 GiB; VHDX:
   * whole logical sectors of `logicalSectorSize` bytes, 64 TB).
   * @throws `ERROR_VHD_INVALID_SIZE`, `VM_E_IMAGE_SIZE_TOO_LARGE` (parameter `size`, path as `path`).
   */
  checkVirtualSize(size: number, path: string, logicalSectorSize: number): void;
  /**
   * The sector sizes of a new base disk at `path`: those requested when the format has them, the format's default
   * for any not given (VHD 512 and 512; VHDX 512 logical, 4096 physical, as New-VHD).
   * @throws `E_INVALIDARG` (parameter `logicalSectorSize` or `physicalSectorSize`, path as `path`) for a size the
   *   format does not have.
   */
  checkSectorSizes(requested: RequestedSectorSizes, path: string): SectorSizes;
  /**
   * The block size of a new base disk of `type` at `path`: `blockSize` when allowed, else the format's default.
   * @throws `ERROR_VHD_INVALID_BLOCK_SIZE` (parameter `blockSize`, path as `path`).
   */
  checkBaseBlockSize(blockSize: number | undefined, type: BaseKind, path: string): number;
  /** The file sizes of a new base disk (bytes), for the volume checks. */
  baseFileSizes(size: number, type: BaseKind, blockSize: number): NewFileSizes;
  /**
   * Fills `target`, an empty (temporary) file, with a new fixed or dynamic disk.
   * @throws `ERROR_VHD_INVALID_SIZE` (content larger than `size`), `VM_E_APP_SHUTTING_DOWN`, read errors of
   *   `content`, write errors.
   */
  createBase(target: RandomAccessFile, options: CreateBaseOptions): Promise<void>;
  /**
   * `vhd inspect`'s record of `image`, a disk this driver opened: `chain` is its resolved chain (`image` its leaf), or
   * `null` for a base disk or with `chainError` saying why it did not resolve. Opens nothing.
   * @throws `ERROR_VHD_FORMAT_UNKNOWN` for an image another driver opened.
   */
  describe(image: DiskImage, chain: DiskChain | null, chainError: ChainErrorInfo | undefined): DiskInfo;
  /**
   * `vhd verify`: the disk at `path` (a file of this format) checked structure by structure, then its chain.
   * Never throws for a damaged file: damage is a failed check.
   */
  verify(path: string, options?: { parameter?: ErrorParameter; storage?: Storage }): Promise<VerifyReport>;
}
