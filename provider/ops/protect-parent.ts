/**
 * `protectParent`: a differencing disk is only valid while its parent's bytes stay exactly as they were, so the
 * parent is made read-only while children exist (VirtualBox's "immutable" media are the closest native analogue).
 *
 * The mode before is recorded in the child's state; it is put back when the last child in the child's and the
 * parent's folders is deleted, and only if nobody changed the mode since (a user's own chmod wins).
 */
import { chmod, stat } from "node:fs/promises";
import { VhdError } from "../errors";
import { errnoCode, vhdErrorFromFs } from "../fs/fs-error";

const WRITE_BITS = 0o222;
const PERMISSION_BITS = 0o7777;

/**
 * Removes every write bit of the parent. Returns the mode before when this call changed it, `null` when the parent
 * was read-only already (then this disk has nothing to undo).
 */
export async function protectParent(parentPath: string): Promise<number | null> {
  const mode = await permissionBits(parentPath);
  if (mode === null) {
    throw new VhdError("ERROR_PATH_NOT_FOUND", "the parent to protect does not exist", { parameter: "parentPath", path: parentPath });
  }
  if ((mode & WRITE_BITS) === 0) return null;
  await changeMode(parentPath, mode & ~WRITE_BITS, "make the parent read-only");
  return mode;
}

/**
 * Puts back `modeBefore` if the parent still has exactly the read-only mode {@link protectParent} left. Returns true
 * when it did.
 */
export async function unprotectParent(parentPath: string, modeBefore: number): Promise<boolean> {
  const mode = await permissionBits(parentPath);
  // A parent that is gone has nothing to undo.
  if (mode === null || mode !== (modeBefore & ~WRITE_BITS)) return false;
  await changeMode(parentPath, modeBefore, "make the parent writable again");
  return true;
}

/** The file's permission bits, or `null` when it does not exist. */
async function permissionBits(file: string): Promise<number | null> {
  try {
    return (await stat(file)).mode & PERMISSION_BITS;
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return null;
    throw vhdErrorFromFs(error, { parameter: "parentPath", path: file, action: "read the parent's permissions" });
  }
}

async function changeMode(file: string, mode: number, action: string): Promise<void> {
  try {
    await chmod(file, mode);
  } catch (error) {
    throw vhdErrorFromFs(error, { parameter: "parentPath", path: file, action });
  }
}
