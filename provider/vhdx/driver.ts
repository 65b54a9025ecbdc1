/**
 * The VHDX driver of the disk seam (disk/driver.ts; MS-VHDX v1, docs/vhdx-format.md): recognises a VHDX by its file
 * identifier, opens it with reader.ts, writes a new differencing disk with writer.ts `writeVhdxChild`, and gives
 * validation the VHDX block sizes and file sizes. A VHDX chain never holds a VHD (Hyper-V refuses the mix).
 */
import { basename, dirname, relative, resolve, sep } from "node:path";
import { DiskChain, openChainFrom } from "../disk/chain";
import type {
  BaseKind,
  CreateBaseOptions,
  CreateDifferencingOptions,
  DiskFormatDriver,
  NewFileSizes,
  OpenImageOptions,
  ParentFacts,
  RelinkOptions,
  RequestedSectorSizes,
  SectorSizes,
  VerifyReport,
  WriteAtOptions,
  WriteAtResult,
  MergeWrite,
  PrepareMergeOptions,
} from "../disk/driver";
import { foreignImage, type ChainErrorInfo, type DiskInfo, type InspectOptions } from "../disk/disk-info";
import type { DiskImage } from "../disk/image";
import { checkSectorSizes } from "../disk/sector-sizes";
import { verifyVhdx } from "./verify";
import { localStorage } from "../storage/local/local-storage";
import { randomUUID } from "node:crypto";
import { VhdError, type ErrorParameter } from "../errors";
import { modifiedDate } from "../storage/facts";
import type { Storage } from "../storage/port";
import type { RandomAccessFile } from "../storage/random-access-file";
import { throwIfCancelled } from "../support/cancellation";
import {
  MAX_BLOCK_SIZE,
  SECTOR_SIZES,
  VHDX_MAX_VIRTUAL_SIZE,
  MIB,
  MIN_BLOCK_SIZE,
  SECTOR_BITMAP_BLOCK_SIZE,
  chunkCount,
  isValidBlockSize,
  payloadBlockCount,
  planFile,
} from "./format";
import { VhdxImage, openVhdx } from "./reader";
import { describeVhdx } from "./inspect";
import { relinkVhdx } from "./relink";
import {
  DEFAULT_CHILD_BLOCK_SIZE,
  DEFAULT_DYNAMIC_BLOCK_SIZE,
  DEFAULT_FIXED_BLOCK_SIZE,
  parentFactsOf,
  writeVhdxAt,
  writeVhdxBase,
  writeVhdxChild,
  type VhdxParentFacts,
} from "./writer";

/** The file identifier signature, the first 8 bytes of every VHDX (§2.2.1). */
const SIGNATURE = "vhdxfile";

/**
 * The sector sizes a new base disk may have, 512 or 4096 each (§2.6.2.4, §2.6.2.5), and New-VHD's defaults: 512
 * logical, 4096 physical. A child copies its parent's.
 */
const SECTOR_SIZE_RULE = {
  format: "VHDX",
  allowed: SECTOR_SIZES,
  defaults: { logicalSectorSize: 512, physicalSectorSize: 4096 },
  advice: "New-VHD's -LogicalSectorSizeBytes and -PhysicalSectorSizeBytes take the same two",
};

/** `ERROR_VHD_INVALID_BLOCK_SIZE` unless `blockSize` is a power of two from 1 MiB to 256 MiB (§2.6.2.1). */
function checkVhdxBlockSize(blockSize: number, path: string, pathParameter: "imagePath" | "path"): number {
  if (!Number.isSafeInteger(blockSize) || !isValidBlockSize(blockSize)) {
    throw new VhdError(
      "ERROR_VHD_INVALID_BLOCK_SIZE",
      `a VHDX block size is a power of two from ${MIN_BLOCK_SIZE / MIB} MiB to ${MAX_BLOCK_SIZE / MIB} MiB, not ${blockSize} bytes`,
      { parameter: "blockSize", value: blockSize, path, pathParameter },
    );
  }
  return blockSize;
}

/** What a VHDX child records of its VHDX parent (read by {@link vhdxDriver}'s `readParentFacts`). */
export interface VhdxDiskParentFacts extends ParentFacts {
  readonly format: "vhdx";
  /** Size, sector sizes, Virtual Disk ID and DataWriteGuid; the locator paths are added when the child is written. */
  readonly parent: Omit<VhdxParentFacts, "relativePath" | "volumePath" | "absoluteWin32Path">;
}

/** `parent` as a VHDX parent's facts, else `ERROR_VHD_INVALID_TYPE` naming `parentPath`: a chain never mixes formats. */
function vhdxParent(parent: ParentFacts, parentPath: string): VhdxDiskParentFacts {
  if (parent.format === "vhdx" && "parent" in parent) return parent as VhdxDiskParentFacts;
  const reason = `a VHDX child cannot have a ${parent.format.toUpperCase()} parent: a chain never mixes formats (Hyper-V refuses it); ` +
    "convert the parent with `vhd convert` first, or name the child .vhd";
  throw new VhdError("ERROR_VHD_INVALID_TYPE", reason, { parameter: "parentPath", path: parentPath });
}

/** A POSIX path in the locator's Windows form (`\` separators), as the VHD driver writes W2ru/W2ku. */
function windowsSeparators(path: string): string {
  return path.split(sep).join("\\");
}

/**
 * The locator paths Hyper-V writes (docs/vhdx-format.md §8 point 8): relative_path from the child's folder and
 * absolute_win32_path, whose file name is the parent's (libvhdi ignores relative_path). absolute_win32_path is the
 * Win32 file namespace prefix `\\?\` followed by the path (MS-VHDX §2.6.2.6.3): `\\?\C:\images\golden.vhdx` for a
 * Windows path, as Hyper-V writes it. A POSIX path has no drive: its components follow the prefix the same way, the
 * root's separator not repeated (`/images/golden.vhdx` is `\\?\images\golden.vhdx`, never `\\?\\images...`).
 * Windows cannot open that; Hyper-V finds such a parent by relative_path, and parent-locator.ts reads it back as
 * the POSIX path.
 */
function locatorPaths(childPath: string, parentPath: string): Required<Pick<VhdxParentFacts, "relativePath" | "absoluteWin32Path">> {
  const absoluteParent = resolve(parentPath);
  const relativePath = windowsSeparators(relative(dirname(resolve(childPath)), absoluteParent));
  return {
    relativePath: relativePath.startsWith("..\\") ? relativePath : `.\\${relativePath || basename(absoluteParent)}`,
    absoluteWin32Path: `\\\\?\\${windowsSeparators(absoluteParent).replace(/^\\+/, "")}`,
  };
}

/** Runs `use` on the file at `path` opened writable, and closes it. */
async function withFile<T>(storage: Storage, path: string, parameter: ErrorParameter, use: (file: RandomAccessFile) => Promise<T>): Promise<T> {
  const file = await storage.open(path, { writable: true, parameter });
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

/** The VHDX format (MS-VHDX v1). */
export const vhdxDriver: DiskFormatDriver = {
  format: "vhdx",
  extensions: [".vhdx", ".avhdx"],

  /** The `vhdxfile` signature at offset 0 (§2.2.1). */
  async probe(file: RandomAccessFile): Promise<boolean> {
    if (file.size < SIGNATURE.length) return false;
    return Buffer.from(await file.read(0, SIGNATURE.length)).toString("latin1") === SIGNATURE;
  },

  /** The reader refuses what it cannot trust, so `strict` changes nothing; `mapsOnDemand` reads the BAT on demand. */
  open(file: RandomAccessFile, options: OpenImageOptions = {}): Promise<VhdxImage> {
    return openVhdx(file, options.mapsOnDemand === true ? { bat: "on-demand" } : {});
  },

  /**
   * The whole reader: a VHDX keeps its parent link in the metadata region, found through the region table;
   * `parent_linkage`, then `parent_linkage2` when the locator has it.
   */
  async recordedParentIds(file: RandomAccessFile): Promise<readonly string[]> {
    const reference = (await openVhdx(file)).parentReference();
    return reference === null ? [] : [reference.uniqueId, ...(reference.alternativeUniqueIds ?? [])];
  },

  /**
   * A power of two from 1 MiB to 256 MiB (§2.6.2.1); default 2 MiB for a child, as Hyper-V's New-VHD -Differencing.
   * @throws `ERROR_VHD_INVALID_BLOCK_SIZE` (parameter `blockSize`, path as `imagePath`).
   */
  checkBlockSize(blockSize: number | undefined, path: string): number {
    return blockSize === undefined ? DEFAULT_CHILD_BLOCK_SIZE : checkVhdxBlockSize(blockSize, path, "imagePath");
  },

  /** Headers, log, BAT and metadata as writer.ts lays them out, plus one 1 MiB sector bitmap block per chunk. */
  differencingFileSizes(virtualSize: number, blockSize: number): NewFileSizes {
    // The sector size only moves the chunk count; 512 gives the larger (safer) estimate.
    const geometry = { virtualSize, blockSize, logicalSectorSize: 512 };
    const initialFileSize = planFile(geometry).dataStart + chunkCount(geometry) * SECTOR_BITMAP_BLOCK_SIZE;
    return { initialFileSize, fullyExpandedSize: initialFileSize + payloadBlockCount(geometry) * blockSize };
  },

  /** Opens the parent (headers, region table, metadata, BAT) and keeps what a child copies (§2.6.2.6.3). */
  async readParentFacts(file: RandomAccessFile, storage: Storage): Promise<VhdxDiskParentFacts> {
    const modified = modifiedDate(await storage.fingerprint(file.path, "parentPath"));
    const image = await openVhdx(file);
    const { relativePath: _r, volumePath: _v, absoluteWin32Path: _a, ...parent } = parentFactsOf(image, {});
    return { format: "vhdx", modified, uniqueId: image.uniqueId, virtualSize: image.virtualSize, parent };
  },

  /**
   * A VHDX child of a VHDX parent: its size, sector sizes and Virtual Disk ID, `parent_linkage` its DataWriteGuid,
   * and the locator keys Hyper-V writes (see {@link locatorPaths}). Nothing of the parent is read here.
   * @throws `ERROR_VHD_INVALID_TYPE` (parameter `parentPath`) for a VHD parent; `VM_E_APP_SHUTTING_DOWN`; write errors.
   */
  async createDifferencing(target: RandomAccessFile, parent: ParentFacts, options: CreateDifferencingOptions): Promise<void> {
    const facts = vhdxParent(parent, options.parentPath);
    throwIfCancelled(options.signal, { parameter: "imagePath", path: options.imagePath });
    const paths = locatorPaths(options.imagePath, options.parentPath);
    await writeVhdxChild(target, { parent: { ...facts.parent, ...paths }, blockSize: options.blockSize });
  },

  /**
   * relink.ts `relinkVhdx`: the parent locator item rewritten through the log, `parent_linkage` the parent's
   * DataWriteGuid and the locator paths a new child gets ({@link locatorPaths}); the child's DataWriteGuid stays.
   */
  async relinkParent(file: RandomAccessFile, parent: ParentFacts, options: RelinkOptions): Promise<void> {
    const facts = vhdxParent(parent, options.parentPath);
    const paths = locatorPaths(options.imagePath, options.parentPath);
    await relinkVhdx(file, { dataWriteGuid: facts.parent.dataWriteGuid, ...paths }, options.expectedUniqueId);
  },

  /**
   * writer.ts `writeVhdxAt`, one write session (a new DataWriteGuid: children of this disk no longer link to it, by
   * the spec), one open of the file, reading only the BAT entries the write touches. A differencing disk's chain is
   * opened above it first (a broken chain is refused; its maps read on demand too), so its parent's bytes fill a
   * partly written sector.
   */
  async writeAt(path: string, offset: number, data: Uint8Array, options: WriteAtOptions = {}): Promise<WriteAtResult> {
    const { signal, storage = localStorage } = options;
    throwIfCancelled(signal, { parameter: "path", path });
    const file = await storage.open(path, { writable: true, parameter: "path" });
    let above: DiskChain | undefined;
    try {
      const parent = async (child: VhdxImage): Promise<DiskChain> => {
        const chain = await openChainFrom(child, { parameter: "path", storage, mapsOnDemand: true });
        above = new DiskChain(chain.images.slice(1), chain.links.slice(1));
        return above;
      };
      const { blocksAllocated } = await writeVhdxAt(file, offset, data, { parent });
      return { bytesWritten: data.length, blocksAllocated, fileSize: file.size };
    } finally {
      await above?.close();
      await file.close();
    }
  },

  /**
   * The disk above the destination records, in one logged relink (relink.ts), the destination's current
   * DataWriteGuid as `parent_linkage` and a new one as `parent_linkage2`; every write is a writer.ts `writeVhdxAt`
   * session under that new one. The chain opens through either key, so it links before the first write, after it,
   * and after a crash anywhere (§2.6.2.6.3 note <12>). A merge run again after a crash does the same from where the
   * destination is.
   */
  async prepareMerge(chain: DiskChain, depth: number, options: PrepareMergeOptions): Promise<MergeWrite> {
    const [above, destination] = [chain.images[depth - 1], chain.images[depth]];
    if (!(above instanceof VhdxImage) || !(destination instanceof VhdxImage)) {
      throw new Error("a VHDX merge's destination and the disk above it are VHDX (a chain never mixes formats)");
    }
    const { storage, signal } = options;
    const next = randomUUID();
    const link = { dataWriteGuid: destination.dataWriteGuid, nextDataWriteGuid: next, ...locatorPaths(above.path, destination.path) };
    await withFile(storage, above.path, "imagePath", (file) => relinkVhdx(file, link, above.uniqueId));
    return async (offset, data) => {
      throwIfCancelled(signal, { parameter: "destinationPath", path: destination.path });
      await withFile(storage, destination.path, "destinationPath", (file) => writeVhdxAt(file, offset, data, { dataWriteGuid: next }));
    };
  },

  /** A whole number of logical sectors, at most 64 TB (§2.6.2.2). */
  checkVirtualSize(size: number, path: string, logicalSectorSize: number): void {
    const context = { parameter: "size", value: size, path, pathParameter: "path", details: { size, logicalSectorSize } } as const;
    if (!Number.isSafeInteger(size) || size <= 0 || size % logicalSectorSize !== 0) {
      throw new VhdError("ERROR_VHD_INVALID_SIZE", `a disk size must be a positive whole number of ${logicalSectorSize}-byte sectors; ${size} is not`, context);
    }
    if (size > VHDX_MAX_VIRTUAL_SIZE) {
      throw new VhdError("VM_E_IMAGE_SIZE_TOO_LARGE", `${size} bytes is above the VHDX limit of 64 TB (${VHDX_MAX_VIRTUAL_SIZE} bytes)`, context);
    }
  },

  /** 512 or 4096 each; default 512 logical, 4096 physical (New-VHD's). */
  checkSectorSizes(requested: RequestedSectorSizes, path: string): SectorSizes {
    return checkSectorSizes(requested, path, SECTOR_SIZE_RULE);
  },

  /** Default 32 MiB for a dynamic disk, 2 MiB for a fixed one (writer.ts, as New-VHD). */
  checkBaseBlockSize(blockSize: number | undefined, type: BaseKind, path: string): number {
    if (blockSize !== undefined) return checkVhdxBlockSize(blockSize, path, "path");
    return type === "fixed" ? DEFAULT_FIXED_BLOCK_SIZE : DEFAULT_DYNAMIC_BLOCK_SIZE;
  },

  /** Headers, log, metadata and BAT as writer.ts lays them out; a fixed disk's every block, a dynamic one's none. */
  baseFileSizes(size: number, type: BaseKind, blockSize: number): NewFileSizes {
    // As for a child: 512-byte sectors give the larger (safer) estimate.
    const geometry = { virtualSize: size, blockSize, logicalSectorSize: 512 };
    const metadata = planFile(geometry).dataStart;
    const full = metadata + payloadBlockCount(geometry) * blockSize;
    return { initialFileSize: type === "fixed" ? full : metadata, fullyExpandedSize: full };
  },

  /** writer.ts `writeVhdxBase`. */
  async createBase(target: RandomAccessFile, options: CreateBaseOptions): Promise<void> {
    const { imagePath, content, signal, onProgress } = options;
    throwIfCancelled(signal, { parameter: "path", path: imagePath });
    await writeVhdxBase(target, {
      kind: options.type,
      virtualSize: options.size,
      blockSize: options.blockSize,
      ...options.sectorSizes,
      imagePath,
      ...(content && { content }),
      ...(signal && { signal }),
      ...(onProgress && { onProgress }),
    });
  },

  describe(image: DiskImage, chain: DiskChain | null, chainError: ChainErrorInfo | undefined): DiskInfo {
    if (!(image instanceof VhdxImage)) throw foreignImage(image, "VHDX");
    return describeVhdx(image, chain, chainError);
  },

  verify(path: string, options: InspectOptions = {}): Promise<VerifyReport> {
    return verifyVhdx(path, options);
  },
};
