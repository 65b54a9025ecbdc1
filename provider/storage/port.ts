/**
 * The storage port: everything the engine, the validation, the operations and the checksum ask of the place that
 * holds disk files. `storage/local/` is this machine's file system, `storage/memory/` an in-memory store whose faults
 * tests choose, and a remote host over SSH is a third adapter. Nothing above the port touches the file system itself.
 *
 * Paths are strings in the host's own flavour (`pathFlavour`): absolute POSIX paths, or Windows drive paths on a
 * Windows host. Every method rejects with a `VhdError` from the one table (never a raw errno), naming `parameter`
 * when given and the path; adapters map their native failures (errno, SFTP status) through one mapping each.
 */
import type { ErrorParameter } from "../errors";
import type { FileFingerprint, FolderEntry, PathFacts, VolumeFacts, VolumeFactsOptions } from "./facts";
import type { RandomAccessFile } from "./random-access-file";
import type { Sha256Options, Sha256Result } from "./sha256-stream";

export type { RandomAccessFile } from "./random-access-file";
export type { FileFingerprint, FileSystemType, FolderEntry, PathFacts, PathKind, VolumeFacts, VolumeFactsOptions } from "./facts";
export type { ByteRange, Sha256Options, Sha256Result } from "./sha256-stream";

/** How the host spells paths: the contract's path rules differ between the two. */
export type PathFlavour = "posix" | "win32";

/** Options of {@link Storage.open}. */
export interface OpenOptions {
  /** Open for reading and writing (default: read only). */
  writable?: boolean;
  /** The input that named the file, for errors. */
  parameter?: ErrorParameter;
  /**
   * What the open is for, as its error says it ("could not ..."): not every file opened is a disk image (a file to
   * hash, a raw image, a record). Default {@link OPEN_ACTION}.
   */
  action?: string;
  /**
   * Bytes from the start of the file the caller is about to read (a disk's metadata). An adapter whose every read
   * costs a round trip may fetch them with the open and serve reads within them from memory; read-only opens only.
   */
  readAhead?: number;
}

/** {@link OpenOptions.action} when none is given: most opens are of a disk image. */
export const OPEN_ACTION = "open the disk image";

/** Options of {@link Storage.createExclusive}. */
export interface CreateOptions {
  /** Permission bits of the new file before the umask (default 0o644). */
  mode?: number;
  /** The input the path came from, for errors. */
  parameter?: ErrorParameter;
}

/**
 * One place that holds disk files. Implementations: `storage/local/` (this machine), `storage/memory/` (tests, faults),
 * `storage/ssh/` (a remote host over SFTP and exec).
 */
export interface Storage {
  /**
   * Names the host in errors, resource ids and chain outputs: undefined for this machine, `ssh://user@host:port`
   * for a remote one.
   */
  readonly host?: string;
  /** The host's path rules. */
  readonly pathFlavour: PathFlavour;

  /**
   * A path on this storage as a person reads it in an error or an output: unchanged on this machine, the
   * `ssh://user@host:port/abs/path` URL on a remote host. Anything that is not an absolute path of the host (a
   * relative path, a locator's Windows path, a URL already) comes back unchanged. Never throws.
   */
  describe(path: string): string;

  /**
   * Opens an existing regular file (following symbolic links, as `open(2)` does).
   * @throws `ERROR_PATH_NOT_FOUND`, `ERROR_ACCESS_DENIED`, `ERROR_INVALID_NAME` (a folder), `ERROR_VIRTDISK_NOT_VIRTUAL_DISK`
   * (not a regular file), ...
   */
  open(path: string, options?: OpenOptions): Promise<RandomAccessFile>;
  /**
   * Creates a new empty file, failing when anything (a symbolic link included, dangling or not) is at `path`:
   * `O_CREAT|O_EXCL|O_NOFOLLOW`.
   * @throws `ERROR_ALREADY_EXISTS`, `ERROR_PATH_NOT_FOUND`, `ERROR_ACCESS_DENIED`, `ERROR_DISK_FULL`, ...
   */
  createExclusive(path: string, options?: CreateOptions): Promise<RandomAccessFile>;
  /**
   * Gives the finished, synced file at `temporaryPath` the name `targetPath` without ever replacing an entry there
   * (a hard link, then unlinking the temporary name), and makes the new entry durable (folder fsync where the host
   * can). On hosts without hard links, claim-then-rename (`storage/no-clobber-publish.ts`).
   * @throws `ERROR_ALREADY_EXISTS` when `targetPath` is taken; the temporary file is then still there.
   */
  publishNoClobber(temporaryPath: string, targetPath: string, parameter?: ErrorParameter): Promise<void>;
  /** Renames `sourcePath` over `targetPath`, replacing it (for records the project owns, never for disks). */
  replace(sourcePath: string, targetPath: string, parameter?: ErrorParameter): Promise<void>;
  /** Removes a file (not a folder). A missing file is an error (`ERROR_PATH_NOT_FOUND`, see `isNotFound` in `facts.ts`); callers decide. */
  unlink(path: string, parameter?: ErrorParameter): Promise<void>;
  /** Creates one folder (its parent must exist). @throws `ERROR_ALREADY_EXISTS` when something is there. */
  mkdir(path: string, parameter?: ErrorParameter): Promise<void>;
  /** Removes an empty folder. Rejects when it holds anything (the host's error; callers
   * treat any failure but `ERROR_PATH_NOT_FOUND` as "still there"). */
  rmdir(path: string, parameter?: ErrorParameter): Promise<void>;
  /** The entries of a folder, each name (not a path) with what it is ({@link FolderEntry}), in no particular order. */
  list(folder: string, parameter?: ErrorParameter): Promise<FolderEntry[]>;
  /** Sets the permission bits of a file (`chmod`). */
  chmod(path: string, mode: number, parameter?: ErrorParameter): Promise<void>;
  /** What is at `path` (`lstat`, or `stat` with `followLinks`); a missing path is `kind: "missing"`, not an error. */
  pathFacts(path: string, options?: { followLinks?: boolean }): Promise<PathFacts>;
  /**
   * The file's change fingerprint (device, inode, size, nanosecond mtime and ctime). A remote adapter must give one
   * as strong as the local one (not SFTP's one-second mtime), or the checksum cache would trust a changed parent.
   */
  fingerprint(path: string, parameter?: ErrorParameter): Promise<FileFingerprint>;
  /** Free space, file-system type, read-only state and file-size limit of the volume holding the existing `folder`. */
  volumeFacts(folder: string, options?: VolumeFactsOptions): Promise<VolumeFacts>;
  /**
   * The SHA-256 of a file (`zeroRanges` read as zeros). A remote adapter runs it on the host where it can and
   * streams it otherwise.
   */
  sha256(path: string, options?: Sha256Options): Promise<Sha256Result>;
  /** Makes the folder's entries durable (fsync of the folder), where the host can; a no-op where it cannot. */
  syncFolder(path: string): Promise<void>;
}
