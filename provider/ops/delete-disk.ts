/**
 * Deleting a disk we made, as a use case any face can call (the resource's `delete`, a CLI command): exactly one file,
 * and only when it is still that disk, no other disk depends on it and no other resource owns it. The standard's rule
 * is "a file we did not create is never deleted"; the unique id is how we know it is ours, whatever else is there.
 */
import * as path from "node:path";
import { VhdError } from "../errors";
import { isNotFound } from "../storage/facts";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import { childDisksInFolder } from "../disk/child-disks";
import { identifyDisk } from "../vhd/disk-identity";
import { removeCreatedFolders } from "./created-folders";
import { removeEmptyFolders } from "./folder-chain";
import { forgetOwner, managedElsewhere, ownerOf } from "./ownership";

/** Arguments of {@link deleteDisk}. */
export interface DeleteDiskArgs {
  /** Absolute path of the disk to delete. */
  imagePath: string;
  /** The unique id (GUID string) of the disk that was created there; a file with another id is left in place. */
  expectedUniqueId: string;
  /** The URN of the resource deleting it; a disk whose ownership record names another owner is left in place. */
  owner?: string;
  /** Folders made for the disk when it was created (outermost first); removed after it when they are empty. */
  createdFolders?: readonly string[];
  /** Where the disk is (default: this machine). */
  storage?: Storage;
}

/** What {@link deleteDisk} did. */
export interface DeleteDiskResult {
  /** True when this call removed the file; false when it was already gone ("already gone" is success). */
  deleted: boolean;
}

/** The sentence every refusal ends with: how to get on without deleting the file. */
const WAY_OUT = "Move it away and retry, or drop the resource from the state with `pulumi state delete <urn>`";

/**
 * Deletes the disk at `imagePath` if it is still the disk with `expectedUniqueId`, no other resource owns it (see
 * ownership.ts) and no other VHD in its folder uses it as parent; then its ownership record and the empty folders
 * made for it, or for a sibling deleted before it (created-folders.ts). A missing file is success.
 *
 * @throws VhdError `ERROR_ACCESS_DENIED` when the file is not that disk (another unique id, or not a VHD at all),
 *   `ERROR_SHARING_VIOLATION` when another resource owns it or a disk in the folder still uses it as parent (listed in
 *   `details.children`), and the table's file-system errors.
 */
export async function deleteDisk(args: DeleteDiskArgs): Promise<DeleteDiskResult> {
  const { imagePath, expectedUniqueId, owner, storage = localStorage } = args;
  const context = { parameter: "imagePath", path: imagePath };
  const found = await identifyDisk(imagePath, "imagePath", storage);
  if (found.kind !== "missing") {
    if (found.kind === "not-a-vhd" || found.fileId !== expectedUniqueId) {
      const what = found.kind === "vhd" ? `its unique id is ${found.fileId}, not ${expectedUniqueId}` : `it is not a virtual disk: ${found.reason}`;
      throw new VhdError(
        "ERROR_ACCESS_DENIED",
        `the file is not the disk this resource created (${what}): it was replaced outside Pulumi, so it is left in ` +
          `place. ${WAY_OUT}`,
        { ...context, details: { found: found.kind === "vhd" ? found.fileId : null, expected: expectedUniqueId } },
      );
    }
    const recordedOwner = await ownerOf(imagePath, expectedUniqueId, storage);
    if (recordedOwner !== null && recordedOwner !== owner) {
      throw new VhdError(
        "ERROR_SHARING_VIOLATION",
        `the disk is ${managedElsewhere(imagePath, recordedOwner, storage)}, so it is left in place; drop this ` +
          "resource from the state with `pulumi state delete <urn>`",
        { ...context, details: { owner: recordedOwner } },
      );
    }
    // Children link to the disk's current linkage id, not to its file id.
    const children = await childDisksInFolder(path.dirname(imagePath), found.uniqueId, [imagePath], storage);
    if (children.length > 0) {
      throw new VhdError(
        "ERROR_SHARING_VIOLATION",
        `the disk is still the parent of ${children.join(", ")}; delete those first (deleting this disk would ` +
          "leave them unusable)",
        { ...context, details: { children } },
      );
    }
  }
  const deleted = found.kind !== "missing" && (await removeFile(storage, imagePath));
  await forgetOwner(imagePath, expectedUniqueId, storage);
  await removeCreatedFolders(storage, path.dirname(imagePath));
  await removeEmptyFolders(storage, args.createdFolders ?? []);
  return { deleted };
}

/** Unlinks the disk; false when someone else removed it between the checks and here (gone is what was asked). */
async function removeFile(storage: Storage, imagePath: string): Promise<boolean> {
  try {
    await storage.unlink(imagePath, "imagePath");
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * Takes back a disk the caller has just written, and the folders made for it, when a later step of the same request
 * failed. Never throws: the failure that made the caller give up is the one to report, not a failed clean-up's.
 */
export async function discardNewDisk(
  imagePath: string,
  createdFolders: readonly string[] = [],
  storage: Storage = localStorage,
): Promise<void> {
  await storage.unlink(imagePath).catch(() => undefined);
  await removeCreatedFolders(storage, path.dirname(imagePath));
  await removeEmptyFolders(storage, createdFolders);
}
