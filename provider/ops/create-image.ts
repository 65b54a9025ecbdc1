/**
 * The part every "create a disk image" operation shares: make the missing folders, write the file atomically, inspect
 * the result, and on any failure or cancel take everything back, so that a failed request leaves no file, no
 * temporary file and no folder of ours behind (seed-api.md; the parent is only ever read).
 */
import { promises as fsp } from "node:fs";
import { VhdError, asVhdError, isVhdError, type ErrorParameter } from "../errors";
import { createFileAtomically, type FileWriter } from "../fs/atomic-file";
import { throwIfCancelled } from "../fs/cancellation";
import { inspectDisk, type DiskInfo } from "../vhd/inspect";
import { createFolderChain } from "./folder-chain";

/** What {@link createImage} needs to know. */
export interface ImageCreation {
  /** The validated, absolute path of the new image. */
  target: string;
  /** The input `target` came from, for errors. */
  parameter: ErrorParameter;
  /** Folders to create first (from validation), outermost first. */
  missingFolders: readonly string[];
  /** Fills the new file (it is a temporary file until the end). */
  write: FileWriter<void>;
  signal?: AbortSignal;
  /** Paths and facts every error of this creation should carry (e.g. the parent's path). */
  details?: Record<string, unknown>;
}

/**
 * Creates the image described by `creation` and returns what {@link inspectDisk} reports about it.
 *
 * @throws VhdError whatever validation-time rule the file system enforces after all (`ERROR_ALREADY_EXISTS` if a
 *   racer took the name, `ERROR_DISK_FULL`, ...), `VM_E_APP_SHUTTING_DOWN` when `signal` aborts before the call
 *   returns, and `DISP_E_EXCEPTION` wrapping anything unexpected, with the paths.
 */
export async function createImage(creation: ImageCreation): Promise<DiskInfo> {
  const { target, parameter, signal } = creation;
  const context = { parameter, path: target };
  const folders = await createFolderChain(creation.missingFolders, parameter);
  let published = false;
  try {
    await createFileAtomically(target, creation.write, { signal, parameter });
    published = true;
    const info = await inspectDisk(target);
    // Until this call returns the creation is not done: a cancel that arrives while inspecting still undoes it.
    throwIfCancelled(signal, context);
    return info;
  } catch (error) {
    // Only a file that our own atomic publish put there is removed; anything else at the target was never ours.
    if (published) await fsp.unlink(target).catch(() => undefined);
    await folders.removeAgain();
    throw creationError(error, creation);
  }
}

/**
 * The error a failed creation reports: a cancel wins over whatever the abort caused downstream (a closed handle, an
 * `AbortError`), then errors from the table pass through, and anything else becomes `DISP_E_EXCEPTION` with the paths.
 */
export function creationError(
  error: unknown,
  creation: Pick<ImageCreation, "target" | "parameter" | "signal" | "details">,
): VhdError {
  const init = { parameter: creation.parameter, path: creation.target, details: creation.details ?? {} };
  if (creation.signal?.aborted && !isVhdError(error, "VM_E_APP_SHUTTING_DOWN")) {
    return new VhdError("VM_E_APP_SHUTTING_DOWN", "the creation was cancelled; nothing was kept", { ...init, cause: error });
  }
  return asVhdError(error, init);
}
