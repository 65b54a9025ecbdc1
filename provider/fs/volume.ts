/**
 * Facts about the volume that will hold a new disk image: free space, file-system type, whether it is read-only and
 * the largest file it can hold. These feed the contract's ERROR_DISK_FULL, ERROR_INVALID_DRIVE and
 * VM_E_FILE_TOO_LARGE_FOR_VOLUME rows (seed-api.md).
 */
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as path from "node:path";
import { errnoCode, vhdErrorFromFs } from "./fs-error";

/**
 * A file-system type as this project names it. `"fat"` is what `statfs` reports for every FAT volume (Linux's msdos
 * magic is shared by FAT12/16/32); `"fat16"` and `"fat32"` can only be injected (see {@link VolumeFactsOptions}).
 */
export type FileSystemType =
  | "fat"
  | "fat16"
  | "fat32"
  | "exfat"
  | "ntfs"
  | "ext"
  | "xfs"
  | "btrfs"
  | "zfs"
  | "tmpfs"
  | "ramfs"
  | "overlay"
  | "fuse"
  | "iso9660"
  | "udf"
  | "nfs"
  | "smb"
  | "unknown";

/** What {@link volumeFacts} reports. */
export interface VolumeFacts {
  /** The existing folder that was asked about. */
  folder: string;
  /** Bytes an unprivileged writer may still use (`bavail * bsize`). */
  freeBytes: number;
  /** The file-system type, from the `statfs` magic number, or as injected. */
  fsType: FileSystemType;
  /** The raw `statfs` type magic, for messages about unknown file systems. */
  fsMagic: number;
  /** True when the file system (or the bind mount) refuses writes: `access(W_OK)` fails with `EROFS`. */
  readOnly: boolean;
  /** True when this process may create files in `folder` (false on a read-only volume, too). */
  writable: boolean;
  /** The largest file the file system can hold, in bytes; `Infinity` when its limit is beyond any VHD. */
  maxFileSize: number;
}

/** Options of {@link volumeFacts}. */
export interface VolumeFactsOptions {
  /**
   * Treat the volume as this file-system type instead of the one `statfs` reports: for volumes whose magic hides the
   * real format (a FAT volume through FUSE reports `fuse`; `statfs` cannot tell FAT16 from FAT32) and for tests on
   * machines that cannot mount FAT.
   */
  assumeFsType?: FileSystemType;
}

const GIB = 1024 * 1024 * 1024;

/** Linux `statfs` f_type magic numbers (linux/magic.h and each file system's super.c). */
export const MAGIC_TO_TYPE: ReadonlyMap<number, FileSystemType> = new Map([
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
  [0x15013346, "udf"], // UDF_SUPER_MAGIC
  [0x6969, "nfs"], // NFS_SUPER_MAGIC
  [0xfe534d42, "smb"], // SMB2_MAGIC_NUMBER
  [0xff534d42, "smb"], // CIFS_SUPER_MAGIC
]);

/**
 * File-size limits below the VHD maximum (2040 GiB). FAT keeps sizes in 32 bits (4 GiB - 1); Windows' VHD API
 * treats FAT16 volumes as 2 GB (seed-api.md, VM_E_FILE_TOO_LARGE_FOR_VOLUME). A detected `"fat"` gets FAT32's
 * limit: a FAT16 volume is itself too small to hold a larger file. ISO 9660 stores 32-bit extents, too.
 */
export const MAX_FILE_SIZE: Readonly<Partial<Record<FileSystemType, number>>> = {
  fat: 4 * GIB - 1,
  fat32: 4 * GIB - 1,
  fat16: 2 * GIB - 1,
  iso9660: 4 * GIB - 1,
};

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
    maxFileSize: MAX_FILE_SIZE[fsType] ?? Number.POSITIVE_INFINITY,
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

/** What lies at a path. */
export type PathKind = "missing" | "file" | "folder" | "symlink" | "other" | "through-file";

/** What {@link pathFacts} found. */
export interface PathFacts {
  kind: PathKind;
  /** Bytes of a file (0 for anything else). */
  size: number;
}

/**
 * What is at `target`. Without `followLinks` (`lstat`) a symbolic link, dangling or not, is `"symlink"`; with it
 * (`stat`) a link is what it leads to, and a dangling one is `"missing"`. `"through-file"` means a component before
 * the last one is a file (`/etc/passwd/x.vhd`).
 */
export async function pathFacts(target: string, options: { followLinks?: boolean } = {}): Promise<PathFacts> {
  try {
    const stats = options.followLinks ? await fsp.stat(target) : await fsp.lstat(target);
    if (stats.isSymbolicLink()) return { kind: "symlink", size: 0 };
    if (stats.isFile()) return { kind: "file", size: stats.size };
    return { kind: stats.isDirectory() ? "folder" : "other", size: 0 };
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return { kind: "missing", size: 0 };
    if (errnoCode(error) === "ENOTDIR") return { kind: "through-file", size: 0 };
    throw vhdErrorFromFs(error, { path: target, action: "look at the path" });
  }
}

/**
 * The nearest folder at or above `folder` that exists (following symbolic links), and the folders below it that do
 * not exist yet, outermost first: what creating `folder` would add. `existing` is undefined when a component is a
 * file or a symbolic link that leads nowhere: no folder can be created there.
 */
export async function nearestExistingFolder(folder: string): Promise<{ existing?: string; missing: string[] }> {
  const missing: string[] = [];
  let current = path.resolve(folder);
  for (;;) {
    const stats = await fsp.stat(current).catch((error: unknown) => {
      if (errnoCode(error) === "ENOENT") return undefined;
      if (errnoCode(error) === "ENOTDIR") return null;
      throw vhdErrorFromFs(error, { path: current, action: "look for the folder" });
    });
    if (stats === null || (stats === undefined && (await pathFacts(current)).kind === "symlink")) return { missing };
    if (stats !== undefined) return stats.isDirectory() ? { existing: current, missing } : { missing };
    missing.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) return { missing };
    current = parent;
  }
}
