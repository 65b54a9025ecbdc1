/**
 * Creating a base disk (a golden image): fixed or dynamic, empty or from a raw image, with the same guarantees as a
 * differencing disk: every rule checked first, the file published only when complete, nothing left on failure.
 */
import { throwIfCancelled } from "../fs/cancellation";
import type { ProgressCallback } from "../fs/progress";
import { validateCreateBase, type BaseRequest, type ValidationOptions } from "../inputs/validate";
import type { DiskInfo } from "../vhd/inspect";
import { writeBaseDisk } from "../vhd/writer";
import { createImage, creationError } from "./create-image";

/** Arguments of {@link createBaseDisk}. */
export interface CreateBaseDiskArgs extends BaseRequest, ValidationOptions {
  /** Cancels the creation: `VM_E_APP_SHUTTING_DOWN`, nothing left behind. */
  signal?: AbortSignal;
  /**
   * Reports progress: the first report (`bytesDone` 0) once every rule has passed and before anything is written, then
   * the copy from `fromRaw` (bytes of the raw image), and a last one when the file is in place.
   */
  onProgress?: ProgressCallback;
}

/**
 * Creates a base disk at `path` (see `validateCreateBase` for the rules and their errors): the containing folder is
 * created when missing, the file is written under a temporary name and published only when complete.
 *
 * @returns what `inspectDisk` reports about the new disk.
 * @throws VhdError as `validateCreateBase` (`fromRaw` missing: `ERROR_PATH_NOT_FOUND`, parameter `fromRaw`), the
 *   writer's errors, `VM_E_APP_SHUTTING_DOWN` on cancel, `DISP_E_EXCEPTION` wrapping anything unexpected.
 */
export async function createBaseDisk(args: CreateBaseDiskArgs): Promise<DiskInfo> {
  const { signal, onProgress } = args;
  const given = { target: args.path ?? "", parameter: "path", signal, details: { fromRaw: args.fromRaw } };
  try {
    throwIfCancelled(signal, { parameter: "path", path: given.target });
    const request = await validateCreateBase(args, args);
    const creation = { target: request.path, parameter: "path", signal, details: { path: request.path, fromRaw: request.fromRaw } };
    onProgress?.({ bytesDone: 0, bytesTotal: request.initialFileSize });
    throwIfCancelled(signal, creation);
    const info = await createImage({
      ...creation,
      missingFolders: request.missingFolders,
      write: async (handle, writeSignal) => {
        await writeBaseDisk(handle, {
          imagePath: request.path,
          size: request.size,
          type: request.type,
          blockSize: request.blockSize,
          ...(request.fromRaw === undefined ? {} : { fromRaw: request.fromRaw }),
          ...(onProgress === undefined ? {} : { onProgress }),
          ...(writeSignal === undefined ? {} : { signal: writeSignal }),
        });
      },
    });
    onProgress?.({ bytesDone: info.fileSize, bytesTotal: info.fileSize });
    return info;
  } catch (error) {
    throw creationError(error, given);
  }
}
