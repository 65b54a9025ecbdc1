/**
 * Writing VHD files: a new differencing disk off any parent, a new base disk (fixed or dynamic, empty or with a
 * content: a raw image, another disk), and bytes written into an existing disk (see block-writer.ts). New disks are written into an open
 * (temporary) file: `storage/atomic-create.ts` gives them their name once complete.
 */
import { VhdError } from "../../errors";
import type { DiskContent } from "../../disk/content";
import type { RandomAccessFile } from "../../storage/port";
import { throwIfCancelled } from "../../support/cancellation";
import type { ProgressCallback } from "../../support/progress";
import { encodeEmptyDynamicFile, writePieces } from "./empty-dynamic-file";
import { DiskType, FOOTER_SIZE, chsFromSize, encodeFooter, type DynamicHeader, type Footer } from "../format";
import { newFooter } from "./new-footer";
import type { VhdParentFacts } from "./parent-footer";
import { parentLinkFor } from "./parent-link";
import { copyContentIntoDynamic, copyContentIntoFixed } from "./content-import";
import { checkBlockSize, checkVirtualSize } from "./size-rules";

/** What a new disk file holds. */
export interface NewDiskResult {
  footer: Footer;
  /** The dynamic header; `null` for a fixed disk. */
  header: DynamicHeader | null;
  /** Bytes of the file. */
  fileSize: number;
}

/** Options of {@link writeDifferencingDisk}. */
export interface DifferencingDiskOptions {
  /** Where the child will live (its final name, not the temporary file): W2ru is relative to its folder. */
  imagePath: string;
  /** The parent's path, as the child records it (W2ku, W2ru, its file name). */
  parentPath: string;
  /** Bytes per block: 512 KiB, 1 MiB or 2 MiB (default). It may differ from the parent's. */
  blockSize?: number;
  signal?: AbortSignal;
}

/**
 * Fills `file`, an empty file, with a new differencing disk whose parent is the VHD at `options.parentPath` (fixed,
 * dynamic or differencing), described by `parent` (its footer and mtime, as `readParentFacts` or validation found
 * them: the writer does not read the parent): head footer copy, dynamic header, an all-unused BAT, W2ku + W2ru
 * locator data and the tail footer; no blocks (SPEC). The child copies the parent's current size (as both its current
 * and original size) and geometry, and records the parent's raw unique id, file mtime and file name.
 *
 * @throws `ERROR_VHD_INVALID_BLOCK_SIZE`, `VM_E_APP_SHUTTING_DOWN`, write errors (`ERROR_DISK_FULL`, ...).
 */
export async function writeDifferencingDisk(
  file: RandomAccessFile,
  parent: VhdParentFacts,
  options: DifferencingDiskOptions,
): Promise<NewDiskResult> {
  const { imagePath, parentPath, signal } = options;
  const blockSize = checkBlockSize(options.blockSize, imagePath, "imagePath");
  const { footer: parentFooter, modified: parentModified } = parent;
  throwIfCancelled(signal, { parameter: "imagePath", path: imagePath });
  const footer = newFooter({
    diskType: DiskType.Differencing,
    virtualSize: parentFooter.currentSize,
    geometry: {
      cylinders: parentFooter.cylinders,
      heads: parentFooter.heads,
      sectorsPerTrack: parentFooter.sectorsPerTrack,
    },
  });
  const link = parentLinkFor({ childPath: imagePath, parentPath, parentFooter, parentModified });
  const { pieces, size, header } = encodeEmptyDynamicFile(footer, blockSize, link);
  await writePieces(file, pieces);
  return { footer, header, fileSize: size };
}

/** Options of {@link writeBaseDisk}. */
export interface BaseDiskOptions {
  /** Where the disk will live (its final name), for error messages. */
  imagePath: string;
  /** Virtual size in bytes: a whole number of 512-byte sectors (never rounded), at most 2040 GiB. */
  size: number;
  /** `dynamic` (sparse, grows as written) or `fixed` (data area of exactly `size` bytes, then the footer). */
  type: "dynamic" | "fixed";
  /** The bytes to copy in (a raw image, another disk); at most `size` bytes. Blocks without data are not written. */
  content?: DiskContent;
  /** Block size of a dynamic disk: 512 KiB, 1 MiB or 2 MiB (default). */
  blockSize?: number;
  /** Progress of the copy from `content`. */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/**
 * Fills `file`, an empty file, with a new base disk (a golden image): geometry from the SPEC's algorithm, creator
 * `win ` (so qemu shows the exact size even when it is not a whole CHS product). A fixed disk's zeros are a sparse
 * hole (ftruncate); a dynamic disk allocates only the blocks of `content` that hold non-zero bytes.
 *
 * @throws `ERROR_VHD_INVALID_SIZE` (not a positive multiple of 512, or smaller than `content`),
 *   `VM_E_IMAGE_SIZE_TOO_LARGE` (above 2040 GiB), `ERROR_VHD_INVALID_BLOCK_SIZE`, `content` read errors,
 *   `VM_E_APP_SHUTTING_DOWN`, write errors.
 */
export async function writeBaseDisk(file: RandomAccessFile, options: BaseDiskOptions): Promise<NewDiskResult> {
  const { imagePath, size, type, content, onProgress, signal } = options;
  checkVirtualSize(size, imagePath, "imagePath");
  if (type !== "dynamic" && type !== "fixed") {
    throw new VhdError("E_INVALIDARG", `the disk type must be "dynamic" or "fixed", not "${String(type)}"`, {
      parameter: "type",
      value: String(type),
      path: imagePath,
      pathParameter: "imagePath",
    });
  }
  const blockSize = checkBlockSize(options.blockSize, imagePath, "imagePath");
  throwIfCancelled(signal, { parameter: "imagePath", path: imagePath });
  const copy = { virtualSize: size, imagePath, ...(signal && { signal }), ...(onProgress && { onProgress }) };
  const footer = newFooter({
    diskType: type === "fixed" ? DiskType.Fixed : DiskType.Dynamic,
    virtualSize: size,
    geometry: chsFromSize(size),
  });
  const footerBytes = encodeFooter(footer);

  if (type === "fixed") {
    if (content !== undefined) await copyContentIntoFixed(file, content, blockSize, copy);
    await file.truncate(size);
    await file.write(size, footerBytes);
    return { footer, header: null, fileSize: size + FOOTER_SIZE };
  }
  const { pieces, header, plan } = encodeEmptyDynamicFile(footer, blockSize);
  await writePieces(file, pieces);
  const footerOffset =
    content === undefined
      ? plan.firstBlockOffset
      : await copyContentIntoDynamic(file, content, { plan, blockSize, footerBytes }, copy);
  return { footer, header, fileSize: footerOffset + FOOTER_SIZE };
}
