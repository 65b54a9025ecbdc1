/**
 * What is at a path where a disk we made should be: nothing, a disk (its unique id and file id), or a file that is not
 * a disk. The file id (`DiskImage.fileId`) is how the resource knows a disk is the one it made; the unique id is what
 * its children link to; a file that does not even open as a VHD is
 * just as foreign as a VHD with another id, whatever its content (random bytes, a text file, a folder, a named pipe).
 */
import { type ErrorParameter, type VhdError, isVhdError } from "../errors";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import { openDisk } from "../disk/formats";

/** The outcome of {@link identifyDisk}. */
export type FoundDisk =
  | { kind: "missing" }
  /** `uniqueId`: the linkage id a child records (`DiskImage.uniqueId`); `fileId`: the file's own identity. */
  | { kind: "vhd"; uniqueId: string; fileId: string }
  /** `reason`: the engine's error, for the message that refuses to touch the file. */
  | { kind: "not-a-vhd"; reason: string };

/** The facility of Windows' virtdisk codes (`0xC03Axxxx`): what the engine reports about a file's content. */
const VIRTDISK_FACILITY = 0xc03a0000;

/**
 * Looks at `path` on `storage` (default: this machine): missing, a VHD (its footer's unique id), or not a VHD (the file does not open as one: no footer,
 * a corrupt structure, a folder, anything else that is not a regular file).
 * @throws VhdError for file-system failures other than "not found" (permissions, I/O): those say nothing about what
 *   the file is.
 */
export async function identifyDisk(
  path: string,
  parameter: ErrorParameter = "imagePath",
  storage: Storage = localStorage,
): Promise<FoundDisk> {
  const { kind } = await storage.pathFacts(path, { followLinks: true });
  if (kind === "missing") return { kind: "missing" };
  if (kind === "folder") return { kind: "not-a-vhd", reason: "it is a folder" };
  // Never opened: over SFTP, opening a named pipe blocks the host's SFTP server until a writer comes.
  if (kind === "other") return { kind: "not-a-vhd", reason: "it is not a regular file: a named pipe, a socket or a device" };
  let image;
  try {
    image = await openDisk(path, { parameter, storage });
  } catch (error) {
    if (isContentError(error)) return { kind: "not-a-vhd", reason: error.reason };
    throw error;
  }
  try {
    return { kind: "vhd", uniqueId: image.uniqueId, fileId: image.fileId };
  } finally {
    await image.close();
  }
}

/** The engine's verdicts on a file's content (virtdisk codes, and a size field out of range), not I/O failures. */
function isContentError(error: unknown): error is VhdError {
  if (!isVhdError(error)) return false;
  return (error.hresult & 0xffff0000) >>> 0 === VIRTDISK_FACILITY || error.code.startsWith("VM_E_IMAGE_SIZE_");
}
