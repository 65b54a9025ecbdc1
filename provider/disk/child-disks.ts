/**
 * Which disks (VHD or VHDX) in a folder use a given disk as their parent. `delete` refuses to remove a disk that still has children
 * (deleting it would orphan them), and `protectParent` keeps the parent read-only while any child remains.
 *
 * Only the folder is searched, not the whole machine: children elsewhere cannot be found without a catalogue, so the
 * guard is a safety net for the common layout (a chain kept together), not a proof that no child exists anywhere.
 */
import * as path from "node:path";
import { isNotFound, isUnanswered } from "../storage/facts";
import { localStorage } from "../storage/local/local-storage";
import type { FolderEntry, Storage } from "../storage/port";
import { pipelined } from "../support/pipelined";
import { driverForFile } from "./formats";

/** Siblings looked at at once: their requests share one connection on a remote host, where one at a time waits. */
const SCAN_WINDOW = 8;

/**
 * The files in `folder` on `storage` (default: this machine; absolute paths, sorted) that are differencing disks whose
 * parent has `parentUniqueId`. A missing folder has none. Only regular files and symbolic links are opened, by the
 * kind the listing gives with each name: a named pipe's open would wait for a writer (on a remote host, with the
 * host's whole SFTP server), and a folder, socket or device is no disk.
 * @throws the storage's errors listing the folder.
 */
export async function childDisksInFolder(
  folder: string,
  parentUniqueId: string,
  exclude: string[] = [],
  storage: Storage = localStorage,
): Promise<string[]> {
  let entries: FolderEntry[];
  try {
    entries = await storage.list(folder);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const candidates = entries
    .filter(({ kind }) => kind === "file" || kind === "symlink")
    .map(({ name }) => path.join(folder, name))
    .filter((file) => !exclude.includes(file));
  const isChild = new Array<boolean>(candidates.length).fill(false);
  await pipelined(candidates.length, SCAN_WINDOW, async (index) => {
    isChild[index] = (await recordedParentIdsOf(storage, candidates[index] as string)).includes(parentUniqueId);
  });
  return candidates.filter((_, index) => isChild[index]).sort();
}

/**
 * The parent ids `file` accepts as a disk of any format (its own headers only: no chain walk, no BAT), none when it
 * is not a readable differencing disk: it cannot be a child we would orphan. A delete looks at every sibling, and
 * on a remote host resolving each one's chain, or reading each one's BAT, made 50 deletes in one folder take minutes.
 * @throws the storage's error when the host gave no answer (`isUnanswered`): that says nothing about the file, which
 *   may well be a child, so the caller must not go on as if it were none.
 */
async function recordedParentIdsOf(storage: Storage, file: string): Promise<readonly string[]> {
  const noneUnlessUnanswered = (error: unknown): readonly string[] => {
    if (isUnanswered(error)) throw error;
    return [];
  };
  let opened;
  try {
    opened = await storage.open(file);
  } catch (error) {
    return noneUnlessUnanswered(error);
  }
  try {
    return await (await driverForFile(opened)).recordedParentIds(opened);
  } catch (error) {
    return noneUnlessUnanswered(error);
  } finally {
    await opened.close();
  }
}
