/**
 * The facts a storage adapter reports about paths, files and volumes (the shapes of the port's answers), and the
 * comparisons on them that hold whatever the adapter.
 */
import { isVhdError } from "../errors";

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
  | "squashfs"
  | "udf"
  | "nfs"
  | "smb"
  | "unknown";

/** What `Storage.volumeFacts` reports. */
export interface VolumeFacts {
  /** The existing folder that was asked about. */
  folder: string;
  /** Bytes an unprivileged writer may still use (`bavail * bsize`). */
  freeBytes: number;
  /** The file-system type, from the `statfs` magic number, or as injected. */
  fsType: FileSystemType;
  /** The raw `statfs` type magic, for messages about unknown file systems. */
  fsMagic: number;
  /** True when the file system (or the bind mount) refuses writes. */
  readOnly: boolean;
  /** True when this process may create files in `folder` (false on a read-only volume, too). */
  writable: boolean;
  /** The largest file the file system can hold, in bytes; `Infinity` when its limit is beyond any VHD. */
  maxFileSize: number;
}

/** Options of `Storage.volumeFacts`. */
export interface VolumeFactsOptions {
  /**
   * Treat the volume as this file-system type instead of the one reported: for volumes whose magic hides the real
   * format (a FAT volume through FUSE reports `fuse`; `statfs` cannot tell FAT16 from FAT32) and for tests on
   * machines that cannot mount FAT.
   */
  assumeFsType?: FileSystemType;
  /**
   * Answer for the nearest existing folder at or above `folder` (links followed), which need not exist yet: the
   * volume a file made under `folder` lands on once its missing folders are created. {@link VolumeFacts.folder}
   * names the folder answered for. Lets a caller ask before it has walked the path itself (a remote host answers
   * with the same one command).
   */
  nearestExisting?: boolean;
}

const GIB = 1024 * 1024 * 1024;

/**
 * File-size limits below the VHD maximum (2040 GiB). FAT keeps sizes in 32 bits (4 GiB - 1); Windows' VHD API
 * treats FAT16 volumes as 2 GB (docs/contract.md, VM_E_FILE_TOO_LARGE_FOR_VOLUME). A detected `"fat"` gets FAT32's
 * limit: a FAT16 volume is itself too small to hold a larger file. ISO 9660 stores 32-bit extents, too.
 */
const MAX_FILE_SIZE: Readonly<Partial<Record<FileSystemType, number>>> = {
  fat: 4 * GIB - 1,
  fat32: 4 * GIB - 1,
  fat16: 2 * GIB - 1,
  iso9660: 4 * GIB - 1,
};

/** The largest file (bytes) a volume of `fsType` holds; `Infinity` when its limit is beyond any VHD. */
export function maxFileSizeOf(fsType: FileSystemType): number {
  return MAX_FILE_SIZE[fsType] ?? Number.POSITIVE_INFINITY;
}

/**
 * Linux `statfs` f_type magic numbers (linux/magic.h and each file system's super.c): what the local adapter's
 * `statfs` and a remote Linux host's `stat -f -c %t` report.
 */
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

/** The file-system type a Linux `statfs` f_type magic (unsigned) names; `"unknown"` for any other number. */
export function fsTypeOfStatfsMagic(magic: number): FileSystemType {
  return MAGIC_TO_TYPE.get(magic) ?? "unknown";
}

/**
 * One entry of a folder as `Storage.list` gives it: its name (not a path) and what it is, the link itself for a
 * symbolic link (`lstat`'s answer; SFTP's READDIR carries it with each name, `readdir` with its file types), so a
 * caller can pass over what it must not open (a named pipe, whose open waits for a writer) without asking again.
 */
export interface FolderEntry {
  name: string;
  /** `"other"`: a named pipe, socket or device. */
  kind: "file" | "folder" | "symlink" | "other";
}

/** The kind of a folder entry from what `lstat`-like answers say of it (a Node `Dirent`, an SFTP entry's attributes). */
export function entryKind(type: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): FolderEntry["kind"] {
  return type.isFile() ? "file" : type.isDirectory() ? "folder" : type.isSymbolicLink() ? "symlink" : "other";
}

/** What lies at a path. `"through-file"`: a component before the last one is a file (`/etc/passwd/x.vhd`). */
export type PathKind = "missing" | "file" | "folder" | "symlink" | "other" | "through-file";

/** What `Storage.pathFacts` found. */
export interface PathFacts {
  kind: PathKind;
  /** Bytes of a file (0 for anything else). */
  size: number;
  /** Permission bits (`mode & 0o7777`) of what is there; 0 for `missing` and `through-file`. */
  mode: number;
  /**
   * A file's last modification, ms since the Unix epoch (whole seconds over SFTP, its attributes' precision);
   * absent for anything but a file. What a VHD child records of its parent needs no more, and on a remote host this
   * costs no command, unlike a fingerprint.
   */
  modifiedMs?: number;
}

/**
 * Device, inode, size and nanosecond time stamps of a file: the facts that change whenever its bytes may have
 * changed. `ctime` makes this safe: `touch -r` cannot set it back. Numbers that can exceed 2^53 (inode, nanoseconds)
 * are decimal strings, so the fingerprint survives a round trip through the Pulumi state (JSON) unchanged.
 */
export interface FileFingerprint {
  /** Device number of the file system holding the file. */
  dev: string;
  /** Inode number: a different file put at the same path has another one. */
  ino: string;
  /** File size in bytes. */
  size: number;
  /** Last modification, nanoseconds since the Unix epoch. */
  mtimeNs: string;
  /** Last change of the inode (data or metadata), nanoseconds since the Unix epoch. */
  ctimeNs: string;
}

/**
 * False for a fingerprint that names no file: SFTP's fallback (ssh-storage.ts), whose device and inode every file
 * shares (`"sftp"`, `""`), so that it proves no two files the same.
 */
export function identifiesFile(fingerprint: Pick<FileFingerprint, "ino">): boolean {
  return fingerprint.ino !== "";
}

/**
 * True when two fingerprints are of the same file (device and inode), whatever its content or times now. False when
 * they name no file ({@link identifiesFile}): callers compare paths as well.
 */
export function sameFile(a: FileFingerprint, b: FileFingerprint): boolean {
  return identifiesFile(a) && a.dev === b.dev && a.ino === b.ino;
}

/** One string per fingerprint, for cache keys. */
export function fingerprintKey(fingerprint: FileFingerprint): string {
  const { dev, ino, size, mtimeNs, ctimeNs } = fingerprint;
  return `${dev}:${ino}:${size}:${mtimeNs}:${ctimeNs}`;
}

/** True when a storage call failed because the path (or a folder on it) does not exist. */
export function isNotFound(error: unknown): boolean {
  return isVhdError(error) && error.code === "ERROR_PATH_NOT_FOUND";
}

/**
 * True when a storage call got no answer: the connection to a remote host was lost (`ERROR_NETNAME_DELETED`) or the
 * host did not answer in time (`ERROR_TIMEOUT`). Nothing may be concluded about the path from such a failure.
 */
export function isUnanswered(error: unknown): boolean {
  return isVhdError(error) && (error.code === "ERROR_NETNAME_DELETED" || error.code === "ERROR_TIMEOUT");
}

/** What makes two names the same file (device and inode): `RandomAccessFile.identity` of every adapter has this form. */
export function fileIdentity(fingerprint: Pick<FileFingerprint, "dev" | "ino">): string {
  return `${fingerprint.dev}:${fingerprint.ino}`;
}

/** The file's modification time as a `Date` (millisecond precision). */
export function modifiedDate(fingerprint: FileFingerprint): Date {
  return new Date(Number(BigInt(fingerprint.mtimeNs) / 1_000_000n));
}
