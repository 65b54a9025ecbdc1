/**
 * The local adapter's facts about a volume (free space, file-system type from the `statfs` magic, read-only state,
 * file-size limit) and about a path. They feed the contract's ERROR_DISK_FULL, ERROR_INVALID_DRIVE and
 * VM_E_FILE_TOO_LARGE_FOR_VOLUME rows (docs/contract.md).
 */
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as path from "node:path";
import { fsTypeOfStatfsMagic, maxFileSizeOf, type PathFacts, type VolumeFacts, type VolumeFactsOptions } from "../facts";
import { errnoCode, vhdErrorFromFs } from "./fs-error";

/**
 * Reports free space, type, read-only state and file-size limit of the volume holding `asked`, which must exist
 * (or of the nearest existing folder above it, with `nearestExisting`).
 *
 * Read-only detection uses `access(W_OK)`: the kernel answers `EROFS` for a read-only file system and for a
 * read-only bind mount, even to root, and the same call works on every OS Node runs on (Node's `statfs` does not
 * expose the mount flags).
 *
 * @throws VhdError from the `fs` error mapping when `folder` cannot be examined (e.g. `ERROR_PATH_NOT_FOUND`).
 */
export async function volumeFacts(asked: string, options: VolumeFactsOptions = {}): Promise<VolumeFacts> {
  const folder = options.nearestExisting ? await nearestExistingFolder(asked) : asked;
  const stats = await fsp.statfs(folder).catch((error: unknown) => {
    throw vhdErrorFromFs(error, { path: folder, action: "read the volume's free space and type" });
  });
  const fsMagic = stats.type >>> 0;
  const fsType = options.assumeFsType ?? fsTypeOfStatfsMagic(fsMagic);
  const access = await writeAccess(folder);
  return {
    folder,
    freeBytes: stats.bavail * stats.bsize,
    fsType,
    fsMagic,
    readOnly: access === "read-only",
    writable: access === "writable",
    maxFileSize: maxFileSizeOf(fsType),
  };
}

/** `folder` or the nearest folder above it that exists (a missing path, a file in the way: go up). */
async function nearestExistingFolder(folder: string): Promise<string> {
  for (let current = path.resolve(folder); ; current = path.dirname(current)) {
    const stats = await fsp.stat(current).catch(() => undefined);
    if (stats?.isDirectory() || current === path.dirname(current)) return current;
  }
}

async function writeAccess(folder: string): Promise<"writable" | "read-only" | "denied"> {
  try {
    await fsp.access(folder, fsConstants.W_OK);
    return "writable";
  } catch (error) {
    if (errnoCode(error) === "EROFS") return "read-only";
    if (errnoCode(error) === "EACCES" || errnoCode(error) === "EPERM") return "denied";
    throw vhdErrorFromFs(error, { path: folder, action: "check that the folder is writable" });
  }
}

/**
 * What is at `target`. Without `followLinks` (`lstat`) a symbolic link, dangling or not, is `"symlink"`; with it
 * (`stat`) a link is what it leads to, and a dangling one is `"missing"`. `"through-file"` means a component before
 * the last one is a file (`/etc/passwd/x.vhd`).
 */
export async function pathFacts(target: string, options: { followLinks?: boolean } = {}): Promise<PathFacts> {
  try {
    const stats = options.followLinks ? await fsp.stat(target) : await fsp.lstat(target);
    const mode = stats.mode & 0o7777;
    if (stats.isSymbolicLink()) return { kind: "symlink", size: 0, mode };
    if (stats.isFile()) return { kind: "file", size: stats.size, mode, modifiedMs: stats.mtimeMs };
    return { kind: stats.isDirectory() ? "folder" : "other", size: 0, mode };
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return { kind: "missing", size: 0, mode: 0 };
    if (errnoCode(error) === "ENOTDIR") return { kind: "through-file", size: 0, mode: 0 };
    throw vhdErrorFromFs(error, { path: target, action: "look at the path" });
  }
}
