/**
 * The part every "create a disk image" operation shares: make the missing folders, write the file atomically, inspect
 * the result, and on any failure or cancel take everything back, so that a failed request leaves no file, no
 * temporary file and no folder of ours behind (seed-api.md; the parent is only ever read).
 */
import { promises as fsp } from "node:fs";
import { VhdError, asVhdError, type ErrorParameter, type VhdErrorInit } from "../errors";
import { createFileAtomically, type FileWriter } from "../storage/atomic-create";
import { throwIfCancelled } from "../support/cancellation";
import type { ProgressCallback } from "../support/progress";
import type { TargetFacts } from "../inputs/validate";
import { inspectDisk, type DiskInfo } from "../vhd/inspect";
import { createFolderChain } from "./folder-chain";

/** A disk just created: what `inspectDisk` reports, and the folders the creation made for it (outermost first). */
export type CreatedImage = DiskInfo & {
  /** Folders that did not exist and were made for the disk; a later delete may remove them again once empty. */
  createdFolders: string[];
};

/** How one kind of disk is created: what {@link runCreation} needs to know. */
export interface CreationPlan<Request extends TargetFacts> {
  /** The target path and its input as the caller gave them, for errors raised before validation resolves them. */
  given: { target: string | null | undefined; parameter: ErrorParameter; details: Record<string, unknown> };
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Checks every rule and resolves the paths (nothing written). */
  validate(): Promise<Request>;
  /** The validated target path and the facts every later error should carry. */
  target(request: Request): { path: string; details: Record<string, unknown> };
  /** Fills the new (temporary) file. */
  write(request: Request): FileWriter<void>;
}

/**
 * Runs a creation: validate, report the start, make the missing folders, write the file atomically, inspect it; on any
 * failure or cancel take everything back (no file at the target, no temporary file, no folder of ours).
 *
 * The first progress report (`bytesDone` 0) comes once every rule has passed and before anything is written; the
 * last one (`bytesDone === bytesTotal`, the file's size) once the file is in place.
 *
 * @returns what `inspectDisk` reports about the new disk, and the folders made for it.
 * @throws VhdError: validation's errors; what the file system enforces after all (`ERROR_ALREADY_EXISTS` if a racer
 *   took the name, `ERROR_DISK_FULL`, ...); `VM_E_APP_SHUTTING_DOWN` when `signal` aborts before the call returns;
 *   `DISP_E_EXCEPTION` wrapping anything unexpected, with the paths.
 */
export async function runCreation<Request extends TargetFacts>(plan: CreationPlan<Request>): Promise<CreatedImage> {
  const { given, signal, onProgress } = plan;
  let context = { parameter: given.parameter, path: given.target ?? undefined, details: given.details };
  try {
    throwIfCancelled(signal, context);
    const request = await plan.validate();
    const target = plan.target(request);
    context = { parameter: given.parameter, path: target.path, details: target.details };
    onProgress?.({ bytesDone: 0, bytesTotal: request.initialFileSize });
    throwIfCancelled(signal, context);
    return await createImage(target.path, given.parameter, request.missingFolders, plan.write(request), plan);
  } catch (error) {
    throw creationError(error, context, signal);
  }
}

/** Makes the folders, writes and publishes the file, inspects it; takes everything back on failure. */
async function createImage(
  target: string,
  parameter: ErrorParameter,
  missingFolders: readonly string[],
  write: FileWriter<void>,
  { signal, onProgress }: Pick<CreationPlan<TargetFacts>, "signal" | "onProgress">,
): Promise<CreatedImage> {
  const folders = await createFolderChain(missingFolders, parameter);
  let published = false;
  try {
    await createFileAtomically(target, write, { signal, parameter });
    published = true;
    const info = await inspectDisk(target, { parameter });
    // Until the call returns the creation is not done: a cancel that arrives while inspecting, or a failing last
    // progress report, still undoes it.
    throwIfCancelled(signal, { parameter, path: target });
    onProgress?.({ bytesDone: info.fileSize, bytesTotal: info.fileSize });
    return { ...info, createdFolders: [...folders.created] };
  } catch (error) {
    // Only a file that our own atomic publish put there is removed; anything else at the target was never ours.
    if (published) await fsp.unlink(target).catch(() => undefined);
    await folders.removeAgain();
    throw error;
  }
}

/**
 * The error a failed creation reports. A cancel wins over whatever the abort caused downstream (a closed handle, an
 * `AbortError`, the reader's own cancel naming its input), and names the disk that was not created; then errors from
 * the table pass through, and anything else becomes `DISP_E_EXCEPTION` with the paths.
 */
function creationError(error: unknown, init: VhdErrorInit, signal: AbortSignal | undefined): VhdError {
  if (signal?.aborted) {
    const reason = "the creation was cancelled; nothing was kept";
    return new VhdError("VM_E_APP_SHUTTING_DOWN", reason, { ...init, cause: error });
  }
  return asVhdError(error, init);
}
