/**
 * The contract creates the containing folder of a new image when it does not exist (docs/contract.md, `imagePath`). If the
 * creation then fails, the folders we made are removed again, so a failed request leaves the tree as it found it; the
 * resource removes them the same way when it deletes the disk.
 */
import { VhdError, isVhdError, type ErrorParameter } from "../errors";
import { isNotFound } from "../storage/facts";
import type { Storage } from "../storage/port";

/** Folders this operation created, and the way to take them back. */
export interface CreatedFolders {
  /** The folders we created, outermost first. */
  readonly created: readonly string[];
  /**
   * Removes the folders we created, innermost first. Only empty folders are removed (`rmdir`): a folder that something
   * else has put a file into meanwhile is no longer only ours, and stays.
   */
  removeAgain(): Promise<void>;
}

/**
 * Creates `missing` (outermost first, as validation listed them), one level at a time, remembering which ones we
 * made. A folder that appeared meanwhile is used, not claimed. On failure, what we made so far is removed again.
 *
 * @throws VhdError `ERROR_PATH_NOT_FOUND` when something that is not a folder took a folder's place, or the table's
 *   file-system errors (`ERROR_ACCESS_DENIED`, `ERROR_INVALID_DRIVE`, `ERROR_DISK_FULL`, ...).
 */
export async function createFolderChain(
  storage: Storage,
  missing: readonly string[],
  parameter: ErrorParameter,
): Promise<CreatedFolders> {
  const created: string[] = [];
  const folders: CreatedFolders = {
    created,
    removeAgain: () => removeEmptyFolders(storage, created),
  };
  try {
    for (const folder of missing) {
      if (await makeFolder(storage, folder, parameter)) created.push(folder);
    }
    return folders;
  } catch (error) {
    await folders.removeAgain();
    throw error;
  }
}

/**
 * Removes `folders` (outermost first, as {@link createFolderChain} made them) innermost first, each only if empty:
 * a folder something else has put a file into is no longer only ours, and stays (and so do the folders above it).
 * Never throws: a folder that cannot be removed is simply left.
 */
export async function removeEmptyFolders(storage: Storage, folders: readonly string[]): Promise<void> {
  for (const folder of [...folders].reverse()) {
    const removed = await storage.rmdir(folder).then(
      () => true,
      (error: unknown) => isNotFound(error),
    );
    if (!removed) return;
  }
}

/** Makes one folder; false when a folder was already there (someone else's). */
async function makeFolder(storage: Storage, folder: string, parameter: ErrorParameter): Promise<boolean> {
  try {
    await storage.mkdir(folder, parameter);
    return true;
  } catch (error) {
    if (!isVhdError(error) || error.code !== "ERROR_ALREADY_EXISTS") throw error;
    const facts = await storage.pathFacts(folder, { followLinks: true }).catch(() => undefined);
    if (facts?.kind === "folder") return false;
    throw new VhdError("ERROR_PATH_NOT_FOUND", "a file appeared where the image's folder was to be created", {
      parameter,
      path: folder,
    });
  }
}
