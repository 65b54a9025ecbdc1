/**
 * Creating a base disk (a golden image): fixed or dynamic, empty or from a raw image, with the same guarantees as a
 * differencing disk: every rule checked first, the file published only when complete, nothing left on failure.
 */
import type { VhdErrorInit } from "../errors";
import { validateCreateBase, type BaseRequest, type ValidationOptions } from "../inputs/validate";
import type { CacheMode } from "../storage/atomic-create";
import { localStorage } from "../storage/local/local-storage";
import { throwIfCancelled } from "../support/cancellation";
import type { ProgressCallback } from "../support/progress";
import { describeNewDisk } from "../disk/inspect";
import { rawContent, type DiskContent } from "../disk/content";
import { driverForNewFile } from "../disk/formats";
import { creationError, writeNewImage, type CreatedImage } from "./create-image";

/** Arguments of {@link createBaseDisk}. */
export interface CreateBaseDiskArgs extends BaseRequest, ValidationOptions {
  /**
   * The bytes the disk starts with when they are not a raw file (`vhd convert`: another disk's chain, already open;
   * the caller closes it); give `size` with it, and no `fromRaw`.
   */
  content?: DiskContent;
  /** How the new file is made durable (`createFileAtomically`; default `writeback`, synced before it is published). */
  cache?: CacheMode;
  /** Cancels the creation, before or during it: `VM_E_APP_SHUTTING_DOWN`, nothing left behind. */
  signal?: AbortSignal;
  /**
   * Reports progress: a first report (`bytesDone` 0) once every rule has passed and before anything is written, then
   * the copy from `fromRaw` or `content` (bytes of it), and a last one when the file is in place.
   */
  onProgress?: ProgressCallback;
}

/**
 * Creates a base disk at `path` (see `validateCreateBase` for the rules and their errors): the containing folder is
 * created when missing, the file is written under a temporary name and published only when complete; on any failure
 * nothing is left (no file, no temporary file, no folder this call created).
 *
 * A raw image whose size is not a whole number of 512-byte sectors, with no `size` given, makes a disk of that size
 * rounded up (its last sector padded with zeros, as `qemu-img convert` does); the result says so in `notes`.
 *
 * @returns what `inspectDisk` reports about the new disk, and the folders made for it.
 * @throws VhdError as `validateCreateBase` (`fromRaw` missing: `ERROR_PATH_NOT_FOUND`, parameter `fromRaw`), the
 *   writer's errors, `VM_E_APP_SHUTTING_DOWN` on cancel, `DISP_E_EXCEPTION` wrapping anything unexpected.
 */
export async function createBaseDisk(args: CreateBaseDiskArgs): Promise<CreatedImage> {
  const { signal, onProgress, storage = localStorage } = args;
  let context: VhdErrorInit = { parameter: "path", path: args.path ?? undefined, details: { fromRaw: args.fromRaw } };
  try {
    throwIfCancelled(signal, context);
    const request = await validateCreateBase(args, { ...args, storage });
    const { path, fromRaw, roundedUpFrom } = request;
    context = { parameter: "path", path, details: { path, fromRaw } };
    onProgress?.({ bytesDone: 0, bytesTotal: request.initialFileSize });
    throwIfCancelled(signal, context);
    const image = { storage, path, parameter: "path", missingFolders: request.missingFolders, cache: args.cache, signal, onProgress };
    return await writeNewImage(
      image,
      async (file, writeSignal) => {
        const raw = fromRaw === undefined ? undefined : await storage.open(fromRaw, { parameter: "fromRaw" });
        try {
          const content = args.content ?? (raw && rawContent(raw));
          await driverForNewFile(path).createBase(file, {
            imagePath: path,
            size: request.size,
            type: request.type,
            blockSize: request.blockSize,
            sectorSizes: request.sectorSizes,
            ...(content && { content }),
            ...(onProgress && { onProgress }),
            ...(writeSignal && { signal: writeSignal }),
          });
        } finally {
          await raw?.close();
        }
      },
      (written) => {
        const info = describeNewDisk(written);
        if (roundedUpFrom === undefined) return info;
        const padded =
          `the raw image's ${roundedUpFrom} bytes are not a whole number of ${request.sectorSizes.logicalSectorSize}-byte sectors: the disk is rounded up to ` +
          `${request.size} bytes, its last ${request.size - roundedUpFrom} bytes zeros`;
        return { ...info, notes: [...info.notes, padded] };
      },
    );
  } catch (error) {
    throw creationError(error, context, signal);
  }
}
