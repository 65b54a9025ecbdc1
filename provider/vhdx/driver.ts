/**
 * The VHDX driver of the disk seam (disk/driver.ts; MS-VHDX v1, vhdx-format.md): recognises a VHDX by its file
 * identifier, opens it with reader.ts, writes a new differencing disk with writer.ts `writeVhdxChild`, and gives
 * validation the VHDX block sizes and file sizes. A VHDX chain never holds a VHD (Hyper-V refuses the mix).
 */
import { basename, dirname, relative, resolve, sep } from "node:path";
import type { CreateDifferencingOptions, DiskFormatDriver, NewFileSizes, OpenImageOptions, ParentFacts } from "../disk/driver";
import { VhdError } from "../errors";
import { modifiedDate } from "../storage/facts";
import type { Storage } from "../storage/port";
import type { RandomAccessFile } from "../storage/random-access-file";
import { throwIfCancelled } from "../support/cancellation";
import { MAX_BLOCK_SIZE, MIB, MIN_BLOCK_SIZE, SECTOR_BITMAP_BLOCK_SIZE, chunkCount, isValidBlockSize, payloadBlockCount, planFile } from "./format";
import { openVhdx, type VhdxImage } from "./reader";
import { DEFAULT_CHILD_BLOCK_SIZE, parentFactsOf, writeVhdxChild, type VhdxParentFacts } from "./writer";

/** The file identifier signature, the first 8 bytes of every VHDX (§2.2.1). */
const SIGNATURE = "vhdxfile";

/** What a VHDX child records of its VHDX parent (read by {@link vhdxDriver}'s `readParentFacts`). */
export interface VhdxDiskParentFacts extends ParentFacts {
  readonly format: "vhdx";
  /** Size, sector sizes, Virtual Disk ID and DataWriteGuid; the locator paths are added when the child is written. */
  readonly parent: Omit<VhdxParentFacts, "relativePath" | "volumePath" | "absoluteWin32Path">;
}

function isVhdxParentFacts(facts: ParentFacts): facts is VhdxDiskParentFacts {
  return facts.format === "vhdx" && "parent" in facts;
}

/** A POSIX path in the locator's Windows form (`\` separators), as the VHD driver writes W2ru/W2ku. */
function windowsSeparators(path: string): string {
  return path.split(sep).join("\\");
}

/**
 * The locator paths Hyper-V writes (vhdx-format.md §8 point 8): relative_path from the child's folder and
 * absolute_win32_path `\\?\` + the absolute path, whose file name is the parent's (libvhdi ignores relative_path).
 */
function locatorPaths(childPath: string, parentPath: string): Pick<VhdxParentFacts, "relativePath" | "absoluteWin32Path"> {
  const absoluteParent = resolve(parentPath);
  const relativePath = windowsSeparators(relative(dirname(resolve(childPath)), absoluteParent));
  return {
    relativePath: relativePath.startsWith("..\\") ? relativePath : `.\\${relativePath || basename(absoluteParent)}`,
    absoluteWin32Path: `\\\\?\\${windowsSeparators(absoluteParent)}`,
  };
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

  /** The reader refuses what it cannot trust, so `strict` changes nothing. */
  open(file: RandomAccessFile, _options: OpenImageOptions = {}): Promise<VhdxImage> {
    return openVhdx(file);
  },

  /**
   * A power of two from 1 MiB to 256 MiB (§2.6.2.1); default 2 MiB for a child, as Hyper-V's New-VHD -Differencing.
   * @throws `ERROR_VHD_INVALID_BLOCK_SIZE` (parameter `blockSize`, path as `imagePath`).
   */
  checkBlockSize(blockSize: number | undefined, path: string): number {
    if (blockSize === undefined) return DEFAULT_CHILD_BLOCK_SIZE;
    if (!Number.isSafeInteger(blockSize) || !isValidBlockSize(blockSize)) {
      throw new VhdError(
        "ERROR_VHD_INVALID_BLOCK_SIZE",
        `a VHDX block size is a power of two from ${MIN_BLOCK_SIZE / MIB} MiB to ${MAX_BLOCK_SIZE / MIB} MiB, not ${blockSize} bytes`,
        { parameter: "blockSize", value: blockSize, path, pathParameter: "imagePath" },
      );
    }
    return blockSize;
  },

  /** Headers, log, BAT and metadata as writer.ts lays them out, plus one 1 MiB sector bitmap block per chunk. */
  differencingFileSizes(virtualSize: number, blockSize: number): NewFileSizes {
    // The sector size only moves the chunk count; 512 gives the larger (safer) estimate.
    const geometry = { virtualSize, blockSize, logicalSectorSize: 512 };
    const initialFileSize = planFile(geometry).dataStart + chunkCount(geometry) * SECTOR_BITMAP_BLOCK_SIZE;
    return { initialFileSize, fullyExpandedSize: initialFileSize + payloadBlockCount(geometry) * blockSize };
  },

  /** Opens the parent (headers, region table, metadata, BAT) and keeps what a child copies (§2.6.2.6.3). */
  async readParentFacts(storage: Storage, parentPath: string): Promise<VhdxDiskParentFacts> {
    const file = await storage.open(parentPath, { parameter: "parentPath" });
    try {
      const modified = modifiedDate(await storage.fingerprint(parentPath, "parentPath"));
      const image = await openVhdx(file);
      const { relativePath: _r, volumePath: _v, absoluteWin32Path: _a, ...parent } = parentFactsOf(image, {});
      return { format: "vhdx", modified, uniqueId: image.uniqueId, virtualSize: image.virtualSize, parent };
    } finally {
      await file.close();
    }
  },

  /**
   * A VHDX child of a VHDX parent: its size, sector sizes and Virtual Disk ID, `parent_linkage` its DataWriteGuid,
   * and the locator keys Hyper-V writes (see {@link locatorPaths}). Nothing of the parent is read here.
   * @throws `ERROR_VHD_INVALID_TYPE` (parameter `parentPath`) for a VHD parent; `VM_E_APP_SHUTTING_DOWN`; write errors.
   */
  async createDifferencing(target: RandomAccessFile, parent: ParentFacts, options: CreateDifferencingOptions): Promise<void> {
    if (!isVhdxParentFacts(parent)) {
      const reason = `a VHDX child cannot have a ${parent.format.toUpperCase()} parent: a chain never mixes formats (Hyper-V refuses it); ` +
        "convert the parent with `vhd convert` first, or name the child .vhd";
      throw new VhdError("ERROR_VHD_INVALID_TYPE", reason, { parameter: "parentPath", path: options.parentPath });
    }
    throwIfCancelled(options.signal, { parameter: "imagePath", path: options.imagePath });
    const paths = locatorPaths(options.imagePath, options.parentPath);
    await writeVhdxChild(target, { parent: { ...parent.parent, ...paths }, blockSize: options.blockSize });
  },
};
