/**
 * Creating a base disk (a golden image): fixed or dynamic, empty or from a raw image, with the same guarantees as a
 * differencing disk: every rule checked first, the file published only when complete, nothing left on failure.
 */
import type { ProgressCallback } from "../support/progress";
import { validateCreateBase, type BaseRequest, type ValidationOptions } from "../inputs/validate";
import { writeBaseDisk } from "../vhd/writer";
import { type CreatedImage, runCreation } from "./create-image";

/** Arguments of {@link createBaseDisk}. */
export interface CreateBaseDiskArgs extends BaseRequest, ValidationOptions {
  /** Cancels the creation, before or during it: `VM_E_APP_SHUTTING_DOWN`, nothing left behind. */
  signal?: AbortSignal;
  /**
   * Reports progress: a first report (`bytesDone` 0) once every rule has passed and before anything is written, then
   * the copy from `fromRaw` (bytes of the raw image), and a last one when the file is in place.
   */
  onProgress?: ProgressCallback;
}

/**
 * Creates a base disk at `path` (see `validateCreateBase` for the rules and their errors): the containing folder is
 * created when missing, the file is written under a temporary name and published only when complete; on any failure
 * nothing is left (no file, no temporary file, no folder this call created).
 *
 * @returns what `inspectDisk` reports about the new disk, and the folders made for it.
 * @throws VhdError as `validateCreateBase` (`fromRaw` missing: `ERROR_PATH_NOT_FOUND`, parameter `fromRaw`), the
 *   writer's errors, `VM_E_APP_SHUTTING_DOWN` on cancel, `DISP_E_EXCEPTION` wrapping anything unexpected.
 */
export async function createBaseDisk(args: CreateBaseDiskArgs): Promise<CreatedImage> {
  const { onProgress } = args;
  return runCreation({
    given: { target: args.path, parameter: "path", details: { fromRaw: args.fromRaw } },
    signal: args.signal,
    onProgress,
    validate: () => validateCreateBase(args, args),
    target: (request) => ({ path: request.path, details: { path: request.path, fromRaw: request.fromRaw } }),
    write: (request) => async (handle, signal) => {
      await writeBaseDisk(handle, {
        imagePath: request.path,
        size: request.size,
        type: request.type,
        blockSize: request.blockSize,
        ...(request.fromRaw === undefined ? {} : { fromRaw: request.fromRaw }),
        ...(onProgress === undefined ? {} : { onProgress }),
        ...(signal === undefined ? {} : { signal }),
      });
    },
  });
}
