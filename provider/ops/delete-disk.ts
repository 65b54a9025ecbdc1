/**
 * Deleting a disk we made, as a use case any face can call (the resource's `delete`, a CLI command): exactly one file,
 * and only when it is still that disk and no other disk depends on it. The standard's rule is "a file we did not
 * create is never deleted"; the unique id is how we know it is ours.
 */
import { unlink } from "node:fs/promises";
import * as path from "node:path";
import { VhdError } from "../errors";
import { fileExists } from "../fs/file-fingerprint";
import { errnoCode, vhdErrorFromFs } from "../fs/fs-error";
import { childDisksInFolder } from "../vhd/child-disks";
import { inspectDisk } from "../vhd/inspect";

/** Arguments of {@link deleteDisk}. */
export interface DeleteDiskArgs {
  /** Absolute path of the disk to delete. */
  imagePath: string;
  /** The unique id (GUID string) of the disk that was created there; a file with another id is left in place. */
  expectedUniqueId: string;
}

/** What {@link deleteDisk} did. */
export interface DeleteDiskResult {
  /** True when this call removed the file; false when it was already gone ("already gone" is success). */
  deleted: boolean;
}

/**
 * Deletes the disk at `imagePath` if it is still the disk with `expectedUniqueId` and no other VHD in its folder uses
 * it as parent. A missing file is success.
 *
 * @throws VhdError `ERROR_ACCESS_DENIED` when the file has another unique id (replaced outside our control),
 *   `ERROR_SHARING_VIOLATION` when a disk in the folder still uses it as parent (listed in `details.children`), the
 *   engine's errors when the file is not a readable VHD, and the table's file-system errors.
 */
export async function deleteDisk(args: DeleteDiskArgs): Promise<DeleteDiskResult> {
  const { imagePath, expectedUniqueId } = args;
  if (!(await fileExists(imagePath, "imagePath"))) return { deleted: false };
  const found = await inspectDisk(imagePath, { parameter: "imagePath" });
  if (found.uniqueId !== expectedUniqueId) {
    throw new VhdError(
      "ERROR_ACCESS_DENIED",
      `the file is not the disk this resource created (its unique id is ${found.uniqueId}, not ` +
        `${expectedUniqueId}): it was replaced outside Pulumi, so it is left in place. Move it away and retry, ` +
        "or drop the resource from the state with `pulumi state delete`",
      { parameter: "imagePath", path: imagePath, details: { found: found.uniqueId, expected: expectedUniqueId } },
    );
  }
  const children = await childDisksInFolder(path.dirname(imagePath), expectedUniqueId, [imagePath]);
  if (children.length > 0) {
    throw new VhdError(
      "ERROR_SHARING_VIOLATION",
      `the disk is still the parent of ${children.join(", ")}; delete those first (deleting this disk would ` +
        "leave them unusable)",
      { parameter: "imagePath", path: imagePath, details: { children } },
    );
  }
  try {
    await unlink(imagePath);
    return { deleted: true };
  } catch (error) {
    // Removed by someone else between the checks and here: the disk is gone, which is what was asked.
    if (errnoCode(error) === "ENOENT") return { deleted: false };
    throw vhdErrorFromFs(error, { parameter: "imagePath", path: imagePath, action: "delete the disk" });
  }
}

/**
 * Takes back a disk the caller has just written, when a later step of the same request failed. Never throws: the
 * failure that made the caller give up is the one to report, not a failed clean-up's.
 */
export async function discardNewDisk(imagePath: string): Promise<void> {
  await unlink(imagePath).catch(() => undefined);
}
