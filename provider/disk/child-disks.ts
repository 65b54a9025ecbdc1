/**
 * Which disks (VHD or VHDX) in a folder use a given disk as their parent. `delete` refuses to remove a disk that still has children
 * (deleting it would orphan them), and `protectParent` keeps the parent read-only while any child remains.
 *
 * Only the folder is searched, not the whole machine: children elsewhere cannot be found without a catalogue, so the
 * guard is a safety net for the common layout (a chain kept together), not a proof that no child exists anywhere.
 */
import * as path from "node:path";
import { isNotFound } from "../storage/facts";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import { openDisk } from "./formats";

/**
 * The files in `folder` on `storage` (default: this machine; absolute paths, sorted) that are differencing disks whose
 * parent has `parentUniqueId`. A missing folder has none.
 * @throws the storage's errors listing the folder.
 */
export async function childDisksInFolder(
  folder: string,
  parentUniqueId: string,
  exclude: string[] = [],
  storage: Storage = localStorage,
): Promise<string[]> {
  let names: string[];
  try {
    names = await storage.list(folder);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const candidates = names.map((name) => path.join(folder, name)).filter((file) => !exclude.includes(file));
  const children: string[] = [];
  for (const file of candidates.sort()) {
    if (await isChildOf(storage, file, parentUniqueId)) children.push(file);
  }
  return children;
}

/**
 * True when `file` is a readable differencing disk whose own records name `parentUniqueId`; anything else is not.
 * Reads only the file's own header (no chain walk): a delete checks every sibling in the folder, and on a remote host
 * resolving each sibling's chain cost a parent open per sibling, so 50 deletes in one folder took minutes.
 */
async function isChildOf(storage: Storage, file: string, parentUniqueId: string): Promise<boolean> {
  let image;
  try {
    image = await openDisk(file, { storage });
  } catch {
    // Not a disk (or unreadable): it cannot be a child we would orphan.
    return false;
  }
  try {
    return image.parentReference()?.uniqueId === parentUniqueId;
  } finally {
    await image.close();
  }
}
