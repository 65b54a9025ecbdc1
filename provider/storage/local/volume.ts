/**
 * The local adapter's facts about a volume (free space, file-system type from the `statfs` magic, read-only state,
 * file-size limit) and about a path. They feed the contract's ERROR_DISK_FULL, ERROR_INVALID_DRIVE and
 * VM_E_FILE_TOO_LARGE_FOR_VOLUME rows (seed-api.md).
 */
import { constants as fsConstants, promises as fsp } from "node:fs";
import { maxFileSizeOf, type FileSystemType, type PathFacts, type VolumeFacts, type VolumeFactsOptions } from "../facts";
import { errnoCode, vhdErrorFromFs } from "./fs-error";

/** Linux `statfs` f_type magic numbers (linux/magic.h and each file system's super.c). */
const MAGIC_TO_TYPE: ReadonlyMap<number, FileSystemType> = new Map([
  [0x4d44, "fat"], // MSDOS_SUPER_MAGIC, vfat and msdos alike
  [0x2011bab0, "exfat"], // EXFAT_SUPER_MAGIC
  [0x5346544e, "ntfs"], // NTFS_SB_MAGIC (the old ntfs driver)
  [0x7366746e, "ntfs"], // ntfs3 ("ntfs" in its super.c)
  [0xef53, "ext"], // EXT2/3/4_SUPER_MAGIC
  [0x58465342, "xfs"], // XFS_SB_MAGIC
  [0x9123683e, "btrfs"], // BTRFS_SUPER_MAGIC
  [0x2fc12fc1, "zfs"], // ZFS_SUPER_MAGIC
  [0x01021994, "tmpfs"], // TMPFS_MAGIC
  [0x858458f6, "ramfs"], // RAMFS_MAGIC
  [0x794c7630, "overlay"], // OVERLAYFS_SUPER_MAGIC
  [0x65735546, "fuse"], // FUSE_SUPER_MAGIC
  [0x9660, "iso9660"], // ISOFS_SUPER_MAGIC
  [0x73717368, "squashfs"], // SQUASHFS_MAGIC
  [0x15013346, "udf"], // UDF_SUPER_MAGIC
  [0x6969, "nfs"], // NFS_SUPER_MAGIC
  [0xfe534d42, "smb"], // SMB2_MAGIC_NUMBER
  [0xff534d42, "smb"], // CIFS_SUPER_MAGIC
]);

/**
 * Reports free space, type, read-only state and file-size limit of the volume holding `folder`, which must exist.
 *
 * Read-only detection uses `access(W_OK)`: the kernel answers `EROFS` for a read-only file system and for a
 * read-only bind mount, even to root, and the same call works on every OS Node runs on (Node's `statfs` does not
 * expose the mount flags).
 *
 * @throws VhdError from the `fs` error mapping when `folder` cannot be examined (e.g. `ERROR_PATH_NOT_FOUND`).
 */
export async function volumeFacts(folder: string, options: VolumeFactsOptions = {}): Promise<VolumeFacts> {
  const stats = await fsp.statfs(folder).catch((error: unknown) => {
    throw vhdErrorFromFs(error, { path: folder, action: "read the volume's free space and type" });
  });
  const fsMagic = stats.type >>> 0;
  const fsType = options.assumeFsType ?? MAGIC_TO_TYPE.get(fsMagic) ?? "unknown";
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
    if (stats.isFile()) return { kind: "file", size: stats.size, mode };
    return { kind: stats.isDirectory() ? "folder" : "other", size: 0, mode };
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return { kind: "missing", size: 0, mode: 0 };
    if (errnoCode(error) === "ENOTDIR") return { kind: "through-file", size: 0, mode: 0 };
    throw vhdErrorFromFs(error, { path: target, action: "look at the path" });
  }
}
