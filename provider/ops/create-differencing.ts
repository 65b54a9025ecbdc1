/**
 * `CreateDifferencingVirtualHardDisk` as one call: validate every rule, create the containing folder when missing,
 * write the child atomically off the parent, and report the new disk. What the CLI and the Pulumi resource call.
 */
import type { ProgressCallback } from "../support/progress";
import {
  recheckParent,
  validateCreateDifferencing,
  type DifferencingRequest,
  type ValidationOptions,
} from "../inputs/validate";
import { writeDifferencingDisk } from "../vhd/writer";
import { type CreatedImage, runCreation } from "./create-image";

/** Arguments of {@link createDifferencingDisk}. */
export interface CreateDifferencingDiskArgs extends DifferencingRequest, ValidationOptions {
  /**
   * Cancels the creation (the CLI aborts it on SIGINT/SIGTERM, the resource on the engine's cancel). Before or during
   * the call, a cancel fails it with `VM_E_APP_SHUTTING_DOWN` and leaves nothing behind.
   */
  signal?: AbortSignal;
  /**
   * Reports progress: the first report (`bytesDone` 0) once every rule has passed and before anything is written, the
   * last one (`bytesDone === bytesTotal`) when the file is in place.
   */
  onProgress?: ProgressCallback;
}

/**
 * Creates a differencing disk at `imagePath` whose parent is `parentPath`, following
 * `CreateDifferencingVirtualHardDisk` (seed-api.md): paths resolved and checked (see `validateCreateDifferencing`), the containing folder created when
 * missing, the file written under a temporary name and published only when complete.
 *
 * On any failure nothing is left: no file at `imagePath`, no temporary file, no folder this call created; the parent
 * is only read. The parent is checked again right before writing, so one removed since validation is refused
 * (`ERROR_PATH_NOT_FOUND`) rather than half-used.
 *
 * @returns what `inspectDisk` reports about the new disk (its parent and chain resolved), and the folders made for it.
 * @throws VhdError every row of the contract's table (see `validateCreateDifferencing`), `VM_E_APP_SHUTTING_DOWN` on
 *   cancel, and `DISP_E_EXCEPTION` wrapping anything unexpected with both paths.
 */
export async function createDifferencingDisk(args: CreateDifferencingDiskArgs): Promise<CreatedImage> {
  return runCreation({
    given: { target: args.imagePath, parameter: "imagePath", details: { parentPath: args.parentPath } },
    signal: args.signal,
    onProgress: args.onProgress,
    validate: () => validateCreateDifferencing(args, args),
    target: ({ imagePath, parentPath }) => ({ path: imagePath, details: { imagePath, parentPath } }),
    write: (request) => async (handle, signal) => {
      // Right before writing (folders made, temporary file open): a parent removed, replaced or damaged in its
      // footer since validation is refused here, and runCreation takes back what was made. One footer read when
      // unchanged: validation already opened the parent's whole chain.
      await recheckParent(request.parentPath, request.parent);
      await writeDifferencingDisk(handle, request.parentPath, {
        imagePath: request.imagePath,
        blockSize: request.blockSize,
        signal,
      });
    },
  });
}
