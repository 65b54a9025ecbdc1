/**
 * Folders the resource created for a disk belong to the folder, not to that disk: sibling disks made into the same
 * new folder share it, and whichever of them is deleted last must take it away (the contract makes the folder;
 * "a folder this provider created and that is empty after the delete is removed"). So the folder carries a record of
 * it, `.pulumi-vhd-folder` inside it (the folders made, outermost first), and every delete in that folder looks for it.
 * Every folder create made carries its own record, not only the innermost: a folder above may come to hold the
 * folders of other disks (`new/x/a.vhd` made `new`, `new/y/b.vhd` then made only `y`), and the delete that empties it
 * last, whichever disk that is, must know it is ours.
 *
 * The record never makes us remove what is not ours: it is only written into a folder create made, only folders
 * at or above the one holding it are taken from it, and a folder is removed only when nothing but the record is in it
 * (`rmdir` of an empty folder; a file put there meanwhile makes it fail, and the record is put back).
 */
import * as path from "node:path";
import { isNotFound } from "../storage/facts";
import { readJsonRecord, replaceJsonRecord } from "../storage/json-record";
import type { Storage } from "../storage/port";
import { removeEmptyFolders } from "./folder-chain";

/** The record's file name, inside each folder made. */
export const CREATED_FOLDERS_RECORD = ".pulumi-vhd-folder";

/** What the record says. */
interface CreatedFoldersRecord {
  /** Absolute paths of the folders create made, outermost first; the last is the one holding the record. */
  createdFolders: string[];
}

/** Path operations in the flavour of `storage`'s host (the record is on that host, in its spelling). */
function pathsOf(storage: Storage): path.PlatformPath {
  return storage.pathFlavour === "win32" ? path.win32 : path.posix;
}

/**
 * Records in each of `createdFolders` (absolute paths on `storage`, outermost first, as create returns them) that this
 * provider made it and the folders above it made with it. Nothing for an empty list.
 * @throws VhdError the storage's errors, naming `imagePath`.
 */
export async function recordCreatedFolders(storage: Storage, createdFolders: readonly string[]): Promise<void> {
  for (const [index, folder] of createdFolders.entries()) {
    const record: CreatedFoldersRecord = { createdFolders: createdFolders.slice(0, index + 1) };
    await replaceJsonRecord(storage, pathsOf(storage).join(folder, CREATED_FOLDERS_RECORD), record, { parameter: "imagePath" });
  }
}

/**
 * After a disk in `folder` is gone: when `folder` carries the record and nothing else, removes the record and the
 * folders it names, innermost first, each only when empty. While anything else is in it (a sibling disk, a file of
 * someone else's) the folder and its record stay. Never throws: the delete that called it has done what was asked.
 */
export async function removeCreatedFolders(storage: Storage, folder: string): Promise<void> {
  const recordPath = pathsOf(storage).join(folder, CREATED_FOLDERS_RECORD);
  const record = await readRecord(storage, recordPath, folder);
  if (record === null) return;
  const names = await storage.list(folder).then(
    (entries) => entries.map(({ name }) => name),
    () => [CREATED_FOLDERS_RECORD],
  );
  if (names.some((name) => name !== CREATED_FOLDERS_RECORD)) return;
  await storage.unlink(recordPath).catch(() => undefined);
  try {
    await storage.rmdir(folder);
  } catch (error) {
    // Something came in meanwhile (a sibling being created): the folder is still ours to remove later.
    if (!isNotFound(error)) await replaceJsonRecord(storage, recordPath, record, { parameter: "imagePath" }).catch(() => undefined);
    return;
  }
  const above = pathsOf(storage).dirname(folder);
  if (above !== folder) await removeCreatedFolders(storage, above);
  // A record written before every folder made had its own lists the folders above in the innermost only.
  await removeEmptyFolders(storage, record.createdFolders.slice(0, -1));
}

/** The record in `folder`, its folders limited to `folder` and those above it; `null` when there is none. */
async function readRecord(storage: Storage, recordPath: string, folder: string): Promise<CreatedFoldersRecord | null> {
  const parsed = await readJsonRecord(storage, recordPath, "imagePath").catch(() => null);
  const listed = (parsed as Partial<CreatedFoldersRecord> | null)?.createdFolders;
  if (!Array.isArray(listed)) return null;
  const { sep } = pathsOf(storage);
  const createdFolders = listed.filter(
    (entry): entry is string => typeof entry === "string" && (entry === folder || folder.startsWith(entry.endsWith(sep) ? entry : entry + sep)),
  );
  return createdFolders.at(-1) === folder ? { createdFolders } : null;
}
