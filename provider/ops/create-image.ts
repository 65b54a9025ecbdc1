/**
 * The part every "create a disk image" operation shares: make the missing folders, write the file atomically, describe
 * the result, and on any failure or cancel take everything back, so that a failed request leaves no file, no
 * temporary file and no folder of ours behind (docs/contract.md; the parent is only ever read).
 */
import { VhdError, asVhdError, type ErrorParameter, type VhdErrorInit } from "../errors";
import { createFileAtomically, type CacheMode, type FileWriter } from "../storage/atomic-create";
import type { Storage } from "../storage/port";
import { throwIfCancelled } from "../support/cancellation";
import type { ProgressCallback } from "../support/progress";
import { openDisk } from "../disk/formats";
import type { DiskImage } from "../disk/image";
import type { DiskInfo } from "../disk/disk-info";
import { createFolderChain } from "./folder-chain";

/** A disk just created: what `inspectDisk` reports, and the folders the creation made for it (outermost first). */
export type CreatedImage = DiskInfo & {
  /** Folders that did not exist and were made for the disk; a later delete may remove them again once empty. */
  createdFolders: string[];
};

/** Where and how a validated image is written (see {@link writeNewImage}). */
export interface NewImage {
  storage: Storage;
  /** The validated, absolute target path, and the input it came from. */
  path: string;
  parameter: ErrorParameter;
  /** Folders to create first, outermost first (validation's `missingFolders`). */
  missingFolders: readonly string[];
  /** How the file is made durable (default `writeback`). */
  cache?: CacheMode;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/**
 * Makes the folders, fills a temporary file with `write` and publishes it, then describes the new disk with
 * `describe` (from the new file alone: nothing else is opened); takes everything back on failure or cancel.
 * The last progress report (`bytesDone === bytesTotal`, the file's size) comes once the file is in place.
 *
 * @throws what `write` throws; what the storage enforces after all (`ERROR_ALREADY_EXISTS` if a racer took the name,
 *   `ERROR_DISK_FULL`, ...); `VM_E_APP_SHUTTING_DOWN` on cancel.
 */
export async function writeNewImage(
  image: NewImage,
  write: FileWriter<void>,
  describe: (written: DiskImage) => DiskInfo,
): Promise<CreatedImage> {
  const { storage, path: target, parameter, signal, onProgress } = image;
  return inNewFolders(image, async (createdFolders) => {
    let published = false;
    try {
      await createFileAtomically(target, write, { storage, signal, parameter, ...(image.cache && { cache: image.cache }) });
      published = true;
      const written = await openDisk(target, { parameter, storage });
      let info: DiskInfo;
      try {
        info = describe(written);
      } finally {
        await written.close();
      }
      // Until the call returns the creation is not done: a cancel that arrives now, or a failing last progress report,
      // still undoes it.
      throwIfCancelled(signal, { parameter, path: target });
      onProgress?.({ bytesDone: info.fileSize, bytesTotal: info.fileSize });
      return { ...info, createdFolders: [...createdFolders] };
    } catch (error) {
      // Only a file that our own atomic publish put there is removed; anything else at the target was never ours.
      if (published) await storage.unlink(target).catch(() => undefined);
      throw error;
    }
  });
}

/**
 * Makes `image.missingFolders` (outermost first), then runs `create`, which makes the file in the innermost and gets
 * the folders made; when `create` fails, the folders made are removed again (only empty ones: `createFolderChain`).
 */
export async function inNewFolders<T>(
  image: Pick<NewImage, "storage" | "missingFolders" | "parameter">,
  create: (createdFolders: readonly string[]) => Promise<T>,
): Promise<T> {
  const folders = await createFolderChain(image.storage, image.missingFolders, image.parameter);
  try {
    return await create(folders.created);
  } catch (error) {
    await folders.removeAgain();
    throw error;
  }
}

/**
 * The error a failed creation reports. A cancel wins over whatever the abort caused downstream (a closed handle, an
 * `AbortError`, the reader's own cancel naming its input), and names the disk that was not created; then errors from
 * the table pass through, and anything else becomes `DISP_E_EXCEPTION` with the paths.
 */
export function creationError(error: unknown, init: VhdErrorInit, signal: AbortSignal | undefined): VhdError {
  if (signal?.aborted) {
    const reason = "the creation was cancelled; nothing was kept";
    return new VhdError("VM_E_APP_SHUTTING_DOWN", reason, { ...init, cause: error });
  }
  return asVhdError(error, init);
}
