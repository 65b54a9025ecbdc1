/**
 * Which VHDs in a folder use a given disk as their parent. `delete` refuses to remove a disk that still has children
 * (deleting it would orphan them), and `protectParent` keeps the parent read-only while any child remains.
 *
 * Only the folder is searched, not the whole machine: children elsewhere cannot be found without a catalogue, so the
 * guard is a safety net for the common layout (a chain kept together), not a proof that no child exists anywhere.
 */
import { readdir } from "node:fs/promises";
import * as path from "node:path";
import { errnoCode, vhdErrorFromFs } from "../storage/local/fs-error";
import { inspectDisk } from "./inspect";

/** The files in `folder` (absolute paths, sorted) that are differencing disks whose parent has `parentUniqueId`. */
export async function childDisksInFolder(folder: string, parentUniqueId: string, exclude: string[] = []): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return [];
    throw vhdErrorFromFs(error, { path: folder, action: "list the folder to look for child disks" });
  }
  const candidates = entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(folder, entry.name))
    .filter((file) => !exclude.includes(file));
  const children: string[] = [];
  for (const file of candidates.sort()) {
    if (await isChildOf(file, parentUniqueId)) children.push(file);
  }
  return children;
}

/** True when `file` is a readable differencing VHD whose header names `parentUniqueId`; any other file is not. */
async function isChildOf(file: string, parentUniqueId: string): Promise<boolean> {
  try {
    const info = await inspectDisk(file);
    return info.parent?.uniqueId === parentUniqueId;
  } catch {
    // Not a VHD (or unreadable): it cannot be a child we would orphan.
    return false;
  }
}
