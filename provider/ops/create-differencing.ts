/**
 * `CreateDifferencingVirtualHardDisk` as one call: validate every rule, create the containing folder when missing,
 * write the child atomically off the parent, and report the new disk. What the CLI and the Pulumi resource call.
 */
import type { VhdErrorInit } from "../errors";
import {
  recheckParent,
  validateCreateDifferencing,
  type DifferencingRequest,
  type ValidationOptions,
} from "../inputs/validate";
import { driverForNewFile } from "../disk/formats";
import { localStorage } from "../storage/local/local-storage";
import { throwIfCancelled } from "../support/cancellation";
import type { ProgressCallback } from "../support/progress";
import { describeNewDisk } from "../disk/inspect";
import { creationError, writeNewImage, type CreatedImage } from "./create-image";

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
 * `CreateDifferencingVirtualHardDisk` (docs/contract.md): paths resolved and checked (see `validateCreateDifferencing`), the
 * containing folder created when missing, the file written under a temporary name and published only when complete.
 *
 * The parent is opened twice: validation reads its whole chain, and right before writing `recheckParent` reads its
 * footer again (a parent removed, replaced or damaged in its footer since validation is refused then, not half-used);
 * the writer takes the footer and mtime from that second read, and the result is described from the new file.
 *
 * On any failure nothing is left: no file at `imagePath`, no temporary file, no folder this call created; the parent
 * is only read.
 *
 * @returns what `inspectDisk` reports about the new disk (its parent and chain resolved), and the folders made for it.
 * @throws VhdError every row of the contract's table (see `validateCreateDifferencing`), `VM_E_APP_SHUTTING_DOWN` on
 *   cancel, and `DISP_E_EXCEPTION` wrapping anything unexpected with both paths.
 */
export async function createDifferencingDisk(args: CreateDifferencingDiskArgs): Promise<CreatedImage> {
  const { signal, onProgress, storage = localStorage } = args;
  let context: VhdErrorInit = {
    parameter: "imagePath",
    path: args.imagePath ?? undefined,
    details: { parentPath: args.parentPath },
  };
  try {
    throwIfCancelled(signal, context);
    const request = await validateCreateDifferencing(args, { ...args, storage });
    const { imagePath, parentPath, blockSize } = request;
    context = { parameter: "imagePath", path: imagePath, details: { imagePath, parentPath } };
    onProgress?.({ bytesDone: 0, bytesTotal: request.initialFileSize });
    throwIfCancelled(signal, context);
    let parent = request.parent;
    const { missingFolders } = request;
    const image = { storage, path: imagePath, parameter: "imagePath", missingFolders, signal, onProgress };
    const driver = driverForNewFile(imagePath);
    return await writeNewImage(
      image,
      async (file, writeSignal) => {
        // Folders made, temporary file open: the last look at the parent before the child records it.
        const rechecked = await recheckParent(parentPath, request.parent, storage);
        parent = rechecked.info;
        await driver.createDifferencing(file, rechecked.facts, { imagePath, parentPath, blockSize, signal: writeSignal });
      },
      (written) => describeNewDisk(written, parent),
    );
  } catch (error) {
    throw creationError(error, context, signal);
  }
}
