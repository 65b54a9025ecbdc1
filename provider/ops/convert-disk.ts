/**
 * `vhd convert <src> <dst>`: a disk (or a whole chain, composed) or a raw image into a new VHD, VHDX or raw image,
 * as Convert-VHD and `qemu-img convert` do, keeping sparseness: only the extents some layer of the source holds are
 * read (the drivers' maps say where), and only their non-zero blocks written (a raw target gets holes; a dynamic
 * target leaves the other blocks unallocated). No raw staging copy: an empty 2000 GiB VHDX converts by reading its
 * BAT. The target format's limits (VHD: 2040 GiB) are checked before anything is written. The source is only read.
 * The target's missing folders are made (a raw target's too, as a disk's). The target is created atomically: on any
 * failure or cancel there is no file at `target`, no temporary file and no folder the call made; it is
 * synced before it is published unless `cache: "unsafe"` (qemu-img convert's default) leaves that to the kernel.
 */
import { basename, extname } from "node:path";
import { openChain } from "../disk/chain";
import { chainContent } from "../disk/content";
import { claimingDriver, driverForNewFile } from "../disk/formats";
import type { SectorSizes } from "../disk/driver";
import type { DiskFormat } from "../disk/image";
import { VhdError, isVhdError, type VhdErrorInit } from "../errors";
import { checkVolume, findTarget, throughFile, type BaseDiskType } from "../inputs/validate";
import { CACHE_MODES, createFileAtomically, type CacheMode } from "../storage/atomic-create";
import { localStorage } from "../storage/local/local-storage";
import type { RandomAccessFile, Storage } from "../storage/port";
import { throwIfCancelled } from "../support/cancellation";
import type { ProgressCallback } from "../support/progress";
import { createBaseDisk } from "./create-base";
import { creationError, inNewFolders } from "./create-image";

/** What a conversion writes: a disk format, or a raw image. */
export type ConvertFormat = DiskFormat | "raw";

/** Arguments of {@link convertDisk}. */
export interface ConvertDiskArgs {
  /** The disk (leaf of its chain) or raw image to read; absolute. */
  source: string;
  /** The new file; absolute; must not exist. */
  target: string;
  /** The target's format (default: by its extension, `.vhd`/`.avhd` VHD, `.vhdx`/`.avhdx` VHDX, anything else raw). */
  format?: ConvertFormat;
  /** A VHD or VHDX target's type (default dynamic). */
  type?: BaseDiskType;
  /**
   * A VHD or VHDX target's block size in bytes (default: what `create` gives that format and type, Hyper-V's:
   * VHD 2 MiB, VHDX dynamic 32 MiB, VHDX fixed 2 MiB; the driver's `checkBaseBlockSize`).
   */
  blockSize?: number;
  /**
   * A VHDX target's sector sizes in bytes, 512 or 4096 (default: the source disk's, as Convert-VHD keeps them; for a
   * raw source New-VHD's, 512 logical and 4096 physical). A VHD target has 512 only: 4096 is `E_INVALIDARG`.
   */
  logicalSectorSize?: number;
  physicalSectorSize?: number;
  /**
   * How the target is made durable, as `qemu-img convert -t` (see `CacheMode`): `writeback` (default) syncs it before
   * it is published, `unsafe` (qemu-img convert's default) leaves it to the kernel's writeback. Other values are
   * `E_INVALIDARG` (parameter `cache`).
   */
  cache?: CacheMode;
  storage?: Storage;
  signal?: AbortSignal;
  /** Bytes of the virtual disk done, of its size. */
  onProgress?: ProgressCallback;
}

/** What {@link convertDisk} made. */
export interface ConvertResult {
  source: string;
  target: string;
  format: ConvertFormat;
  virtualSize: number;
  /** The target file's size in bytes (a raw image's apparent size). */
  fileSize: number;
}

/** The format a target's name asks for. */
function formatOfName(target: string): ConvertFormat {
  const driver = driverForNewFile(target);
  return driver.extensions.includes(extname(target).toLowerCase()) ? driver.format : "raw";
}

/**
 * Converts `source` into a new file at `target`.
 * @throws `E_INVALIDARG` (parameter `cache`) for a cache mode other than `writeback` or `unsafe`; (parameter `format`) when `format` names a disk format other than the target's extension
 *   (a `.vhd` name holding a VHDX would be opened by the wrong driver), the source's chain errors (parameter
 *   `source`), `ERROR_ALREADY_EXISTS` for an existing target, the base-creation rules for a disk target
 *   (`VM_E_IMAGE_SIZE_TOO_LARGE` above the target format's limit, ...), `VM_E_APP_SHUTTING_DOWN`, write errors.
 */
export async function convertDisk(args: ConvertDiskArgs): Promise<ConvertResult> {
  const { source, target, signal, onProgress, storage = localStorage, cache = "writeback" } = args;
  const requestedSectors: Partial<SectorSizes> = {
    ...(args.logicalSectorSize === undefined ? {} : { logicalSectorSize: args.logicalSectorSize }),
    ...(args.physicalSectorSize === undefined ? {} : { physicalSectorSize: args.physicalSectorSize }),
  };
  const disk = { type: args.type ?? "dynamic", ...(args.blockSize === undefined ? {} : { blockSize: args.blockSize }), ...requestedSectors } as const;
  const named = formatOfName(target);
  const format = args.format ?? named;
  const context: VhdErrorInit = { parameter: "target", path: target, details: { source, format } };
  if (format !== "raw" && format !== named) {
    throw new VhdError("E_INVALIDARG", `a ${format.toUpperCase()} target needs a .${format} name, not ${basename(target)}`, {
      parameter: "format",
      value: format,
      path: target,
    });
  }
  if (!CACHE_MODES.includes(cache)) {
    throw new VhdError("E_INVALIDARG", `the cache mode is one of ${CACHE_MODES.join(", ")} (qemu-img's names), not ${JSON.stringify(cache)}`, {
      parameter: "cache",
      value: String(cache),
      path: target,
      pathParameter: "target",
    });
  }
  throwIfCancelled(signal, context);
  const { kind } = await storage.pathFacts(target, { followLinks: false });
  // A file where a folder of the path should be: nothing exists at the target, and no folder can be made there.
  if (kind === "through-file") throw throughFile(target, "target");
  if (kind !== "missing") {
    throw new VhdError("ERROR_ALREADY_EXISTS", "the target exists; convert never overwrites: choose a new name or remove it", context);
  }
  const sourceDriver = await claimingDriver(source, { storage, parameter: "source" });
  if (sourceDriver === null) {
    if (format === "raw") {
      // The format is named with its value: bare, the message would read as if the source path were the format.
      throw new VhdError("E_INVALIDARG", "the source is already a raw image; copy it (cp --sparse=always) or choose a .vhd or .vhdx target", {
        parameter: "format",
        value: "raw",
        path: source,
        pathParameter: "source",
      });
    }
    const created = await createBaseDisk({ storage, path: target, fromRaw: source, ...disk, cache, signal, onProgress }).catch((error: unknown) => {
      throw asConvertInputs(error, { source, format, rawSource: true });
    });
    return { source, target, format, virtualSize: created.virtualSize, fileSize: created.fileSize };
  }
  const chain = await openChain(source, { parameter: "source", storage });
  const { virtualSize } = chain;
  try {
    if (format === "raw") {
      const write = (file: RandomAccessFile, writeSignal?: AbortSignal): Promise<void> =>
        chain.copyToFile(file, { signal: writeSignal, onProgress: (bytesDone) => onProgress?.({ bytesDone, bytesTotal: virtualSize }) });
      // A missing folder is made, as for a disk target (and removed again on failure); a read-only or unwritable
      // volume is refused before that, as for a disk target, not by the first mkdir's errno. A raw target is sparse:
      // only the free-space floor applies, not its full size.
      const { missingFolders, volume } = await findTarget(target, "target", { storage });
      checkVolume(volume, target, "target", { fullyExpandedSize: virtualSize, needsFullSize: false });
      await inNewFolders({ storage, missingFolders, parameter: "target" }, () =>
        createFileAtomically(target, write, { storage, signal, parameter: "target", cache }),
      );
      return { source, target, format, virtualSize, fileSize: (await storage.pathFacts(target, { followLinks: true })).size };
    }
    const [leaf] = chain.images;
    // A VHDX target keeps the source's sector sizes (as Convert-VHD does); a VHD target has 512-byte sectors.
    const kept: Partial<SectorSizes> =
      format === "vhdx" && leaf !== undefined ? { logicalSectorSize: leaf.logicalSectorSize, physicalSectorSize: leaf.physicalSectorSize } : {};
    const created = await createBaseDisk({
      storage,
      path: target,
      size: virtualSize,
      content: chainContent(chain),
      ...kept,
      ...disk,
      cache,
      ...(signal && { signal }),
      ...(onProgress && { onProgress }),
    });
    return { source, target, format, virtualSize: created.virtualSize, fileSize: created.fileSize };
  } catch (error) {
    throw asConvertInputs(creationError(error, context, signal), { source, format, rawSource: false });
  } finally {
    await chain.close();
  }
}

/**
 * createBaseDisk's errors name its inputs `path` and `fromRaw`: for a convert they are its `target` and `source`. Its
 * refusal of the size (empty, or below Hyper-V's 3 MB minimum) is about the source too: convert has no size to give,
 * so "choose a larger size" would be advice the user cannot follow.
 */
function asConvertInputs(error: unknown, { source, format, rawSource }: { source: string; format: ConvertFormat; rawSource: boolean }): unknown {
  if (!isVhdError(error)) return error;
  const empty = error.code === "ERROR_VHD_INVALID_SIZE" && error.value === 0;
  if (error.parameter === "size" && (empty || error.code === "VM_E_IMAGE_SIZE_TOO_SMALL")) {
    const what = empty ? "the source is empty" : `${String(error.value)} bytes (the source's size in whole sectors) is below the 3 MB minimum of a ${format.toUpperCase()} disk`;
    const todo = rawSource ? "keep it as a raw image, or pad it first (truncate -s 3M)" : "convert it to a raw target instead";
    return new VhdError(error.code, `${what}; ${todo}`, { parameter: "source", path: source, cause: error, details: { ...error.details, target: error.path } });
  }
  return error.withInputRenamed("path", "target").withInputRenamed("fromRaw", "source");
}
