/** Folder questions answered through the port, the same on every adapter. */
import * as path from "node:path";
import { VhdError, isVhdError } from "../errors";
import type { Storage } from "./port";

/**
 * The nearest folder at or above `folder` on `storage` that exists (following symbolic links), and the folders below
 * it that do not exist yet, outermost first: what creating `folder` would add. `existing` is undefined when a
 * component is a file or a symbolic link that leads nowhere: no folder can be created there.
 * @throws the storage's errors other than "not there".
 */
export async function nearestExistingFolder(
  storage: Storage,
  folder: string,
): Promise<{ existing?: string; missing: string[] }> {
  const paths = storage.pathFlavour === "win32" ? path.win32 : path.posix;
  const missing: string[] = [];
  let current = paths.resolve(folder);
  for (;;) {
    // Whether a missing path is a dangling link is asked with the look itself: on a remote host, one round trip.
    const [{ kind }, unfollowed] = await Promise.all([storage.pathFacts(current, { followLinks: true }), storage.pathFacts(current)]);
    if (kind === "through-file") return { missing };
    if (kind === "missing" && unfollowed.kind === "symlink") return { missing };
    if (kind !== "missing") return kind === "folder" ? { existing: current, missing } : { missing };
    missing.unshift(current);
    const parent = paths.dirname(current);
    if (parent === current) return { missing };
    current = parent;
  }
}

/**
 * `mkdir -p`: creates `folder` on `storage` and every missing folder above it; one that appears meanwhile is fine.
 * @throws the storage's errors (`ERROR_PATH_NOT_FOUND` when a component is a file).
 */
export async function makeFolders(storage: Storage, folder: string): Promise<void> {
  const { existing, missing } = await nearestExistingFolder(storage, folder);
  if (existing === undefined) {
    throw new VhdError("ERROR_PATH_NOT_FOUND", "a component of the path is a file, so the folder cannot be created", {
      path: folder,
    });
  }
  for (const each of missing) {
    await storage.mkdir(each).catch(async (error: unknown) => {
      const raced = isVhdError(error) && error.code === "ERROR_ALREADY_EXISTS";
      if (!raced || (await storage.pathFacts(each, { followLinks: true })).kind !== "folder") throw error;
    });
  }
}
