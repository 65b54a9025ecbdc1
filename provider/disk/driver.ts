/**
 * What a disk format contributes: recognising its files, opening them as a {@link DiskImage}, and the facts creation
 * and validation need. `vhd/driver.ts` is the first driver; `formats.ts` holds the list and picks one.
 */
import type { ErrorParameter } from "../errors";
import type { Storage } from "../storage/port";
import type { RandomAccessFile } from "../storage/random-access-file";
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
   * What a new child of the disk at `parentPath` (a file of this format) records of it, read now on `storage`: the
   * re-check right before a child is written (inputs/validate.ts `recheckParent`). Reads as little as the format
   * allows (VHD: the footer; VHDX: headers and metadata).
   * @throws the storage's open errors and the format's structural errors, parameter `parentPath`.
   */
  readParentFacts(storage: Storage, parentPath: string): Promise<ParentFacts>;
  /**
   * Fills `target`, an empty (temporary) file, with a new differencing disk of this format whose parent is described
   * by `parent` (as validation's re-check read it): the parent's identity, size and where to find it recorded, no
   * data. The parent is not read again. Checking the parent's chain is the caller's job (validation).
   * @throws `ERROR_VHD_INVALID_TYPE` for a parent of another format (a chain never mixes formats),
   *   `VM_E_APP_SHUTTING_DOWN`, write errors (`ERROR_DISK_FULL`, ...).
   */
  createDifferencing(target: RandomAccessFile, parent: ParentFacts, options: CreateDifferencingOptions): Promise<void>;
}
