/**
 * `vhd convert <src> <dst>`: a disk (or a whole chain, composed) or a raw image into a new VHD, VHDX or raw image,
 * as Convert-VHD and `qemu-img convert` do, keeping sparseness: only bytes some layer holds are written (a raw target
 * gets holes; a dynamic target leaves all-zero blocks unallocated). The source is only read. The target is created
 * atomically: on any failure or cancel there is no file at `target` and no temporary file.
 */
import { randomBytes } from "node:crypto";
import { basename, dirname, extname, join } from "node:path";
import { openChain } from "../disk/chain";
import { claimingDriver, driverForNewFile } from "../disk/formats";
import type { DiskFormat } from "../disk/image";
import { VhdError, type VhdErrorInit } from "../errors";
import type { BaseDiskType } from "../inputs/validate";
import { createFileAtomically } from "../storage/atomic-create";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import { throwIfCancelled } from "../support/cancellation";
import type { ProgressCallback } from "../support/progress";
import { createBaseDisk } from "./create-base";
import { creationError } from "./create-image";

/**
 * The block size of a converted disk unless one is given: 2 MiB, valid in both formats, so sparseness survives at
 * 2 MiB granularity (VHDX's own 32 MiB default would allocate a whole 32 MiB block for one written sector).
 */
export const CONVERT_BLOCK_SIZE = 2 * 1024 * 1024;

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
  /** A VHD or VHDX target's block size in bytes (default {@link CONVERT_BLOCK_SIZE}). */
  blockSize?: number;
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
 * @throws `E_INVALIDARG` (parameter `format`) when `format` names a disk format other than the target's extension
 *   (a `.vhd` name holding a VHDX would be opened by the wrong driver), the source's chain errors (parameter
 *   `source`), `ERROR_ALREADY_EXISTS` for an existing target, the base-creation rules for a disk target
 *   (`VM_E_IMAGE_SIZE_TOO_LARGE` above the target format's limit, ...), `VM_E_APP_SHUTTING_DOWN`, write errors.
 */
export async function convertDisk(args: ConvertDiskArgs): Promise<ConvertResult> {
  const { source, target, signal, onProgress, storage = localStorage, blockSize = CONVERT_BLOCK_SIZE } = args;
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
  throwIfCancelled(signal, context);
  if ((await storage.pathFacts(target, { followLinks: false })).kind !== "missing") {
    throw new VhdError("ERROR_ALREADY_EXISTS", "the target exists; convert never overwrites: choose a new name or remove it", context);
  }
  const sourceDriver = await claimingDriver(source, { storage, parameter: "source" });
  if (sourceDriver === null) {
    if (format === "raw") throw new VhdError("E_INVALIDARG", "the source is already a raw image; copy it instead", { parameter: "format", path: source });
    const created = await createBaseDisk({ storage, path: target, fromRaw: source, type: args.type ?? "dynamic", blockSize, signal, onProgress });
    return { source, target, format, virtualSize: created.virtualSize, fileSize: created.fileSize };
  }
  const chain = await openChain(source, { parameter: "source", storage });
  const { virtualSize } = chain;
  try {
    const copy = (path: string, parameter: "target"): Promise<void> =>
      createFileAtomically(
        path,
        (file, writeSignal) =>
          chain.copyToFile(file, {
            signal: writeSignal,
            onProgress: (bytesDone) => onProgress?.({ bytesDone, bytesTotal: virtualSize }),
          }),
        { storage, signal, parameter },
      );
    if (format === "raw") {
      await copy(target, "target");
      return { source, target, format, virtualSize, fileSize: (await storage.pathFacts(target, { followLinks: true })).size };
    }
    // A disk target is written from a sparse raw image next to it (the writers take a raw source), removed after.
    const staging = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.raw`);
    try {
      await copy(staging, "target");
      const created = await createBaseDisk({ storage, path: target, fromRaw: staging, type: args.type ?? "dynamic", blockSize, signal });
      return { source, target, format, virtualSize: created.virtualSize, fileSize: created.fileSize };
    } finally {
      await storage.unlink(staging).catch(() => undefined);
    }
  } catch (error) {
    throw creationError(error, context, signal);
  } finally {
    await chain.close();
  }
}
