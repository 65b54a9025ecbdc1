/**
 * Which disks (VHD or VHDX) in a folder use a given disk as their parent. `delete` refuses to remove a disk that still has children
 * (deleting it would orphan them), and `protectParent` keeps the parent read-only while any child remains.
 *
 * Only the folder is searched, not the whole machine: children elsewhere cannot be found without a catalogue, so the
 * guard is a safety net for the common layout (a chain kept together), not a proof that no child exists anywhere.
 */
import * as path from "node:path";
import { VhdError, isVhdError } from "../errors";
import { isNotFound, isUnanswered } from "../storage/facts";
import { localStorage } from "../storage/local/local-storage";
import type { FolderEntry, Storage } from "../storage/port";
import type { RandomAccessFile } from "../storage/random-access-file";
import { wrappedFile } from "../storage/wrapped-file";
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
 * is not a differencing disk: it cannot be a child we would orphan. A delete looks at every sibling, and on a remote
 * host resolving each one's chain, or reading each one's BAT, made 50 deletes in one folder take minutes.
 * @throws when the file could not be read (`isNoDiskAnswer` false: no answer from the host, permission denied; or
 *   any read of it failed: an I/O error, a file cut while read), naming it: such a file may well be a child, so the
 *   caller must not go on as if it were none.
 */
async function recordedParentIdsOf(storage: Storage, file: string): Promise<readonly string[]> {
  // A failed read (an I/O error, a file cut while read) comes as ERROR_VHD_METADATA_READ_FAILURE, the code a corrupt
  // structure gives too: once any read failed, the error is about the storage, never a verdict on the file's bytes.
  let readFailed = false;
  const noneIfNoDisk = (error: unknown): readonly string[] => {
    if (!readFailed && isNoDiskAnswer(error)) return [];
    throw unreadableSibling(storage, file, error);
  };
  let opened: RandomAccessFile;
  try {
    opened = await storage.open(file);
  } catch (error) {
    return noneIfNoDisk(error);
  }
  const reads = wrappedFile(opened, {
    read: (position, length, target, targetOffset) =>
      opened.read(position, length, target, targetOffset).catch((error: unknown) => {
        readFailed = true;
        throw error;
      }),
  });
  try {
    return await (await driverForFile(reads)).recordedParentIds(reads);
  } catch (error) {
    return noneIfNoDisk(error);
  } finally {
    await opened.close();
  }
}

/**
 * True when `error` says the file is no differencing disk: gone since the listing (`ERROR_PATH_NOT_FOUND`), a folder
 * behind a link (`ERROR_INVALID_NAME`), a link to a name too long to exist (`ERROR_BUFFER_OVERFLOW`), or read and found to be no usable disk of a format we know (the format codes,
 * and a size field no disk can hold, as a damaged footer gives).
 */
function isNoDiskAnswer(error: unknown): boolean {
  if (!isVhdError(error)) return false;
  const { code } = error;
  return code.startsWith("ERROR_VHD_") || NO_DISK_CODES.has(code);
}

const NO_DISK_CODES: ReadonlySet<string> = new Set([
  "ERROR_PATH_NOT_FOUND",
  "ERROR_INVALID_NAME",
  // A name longer than the file system allows (ENAMETOOLONG, through a link): no file can be there. Over SFTP the
  // same link gives ERROR_INVALID_NAME (OpenSSH sends ENAMETOOLONG as BAD_MESSAGE).
  "ERROR_BUFFER_OVERFLOW",
  "ERROR_VIRTDISK_NOT_VIRTUAL_DISK",
  "VM_E_IMAGE_SIZE_TOO_LARGE",
  "VM_E_IMAGE_SIZE_TOO_SMALL",
]);

/**
 * The error of a sibling that could not be read: its own code, the file named, and what to do. No answer from the
 * host (`isUnanswered`) passes as it came: nothing is wrong with the file, and running again is all there is to do.
 */
function unreadableSibling(storage: Storage, file: string, error: unknown): unknown {
  if (!isVhdError(error) || isUnanswered(error)) return error;
  return new VhdError(
    error.code,
    `could not read this file beside the disk to tell whether it is a child of the disk (${error.reason}), so nothing was removed; make it readable, or move it out of the folder, and run again`,
    { path: storage.describe(file), cause: error },
  );
}
