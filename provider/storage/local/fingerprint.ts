/**
 * A file's fingerprint: the stat facts that change whenever its bytes may have changed. It decides whether a recorded
 * parent checksum can be trusted without reading the parent again.
 *
 * `ctime` is the field that makes this safe: `touch -r` (or any tool that restores `mtime` after a write) cannot set it
 * back, because the kernel updates it on every write, chmod and rename of the inode.
 */
import { stat } from "node:fs/promises";
import type { ErrorParameter } from "../../errors";
import { errnoCode, vhdErrorFromFs } from "./fs-error";

/**
 * Device, inode, size and nanosecond time stamps of a file. Numbers that can exceed 2^53 (inode, nanoseconds) are
 * decimal strings, so the fingerprint survives a round trip through the Pulumi state (JSON) unchanged.
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

/** The fingerprint of the file at `path` (follows symlinks, as opening the file would). Rejects with the fs error. */
export async function fingerprintFile(path: string): Promise<FileFingerprint> {
  const stats = await stat(path, { bigint: true });
  return {
    dev: stats.dev.toString(),
    ino: stats.ino.toString(),
    size: Number(stats.size),
    mtimeNs: stats.mtimeNs.toString(),
    ctimeNs: stats.ctimeNs.toString(),
  };
}

/** True when two fingerprints are of the same file (device and inode), whatever its content or times now. */
export function sameFile(a: FileFingerprint, b: FileFingerprint): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/**
 * True when a file exists at `file` (following symlinks), false when it does not.
 *
 * @throws VhdError from the table (via {@link vhdErrorFromFs}) for any other failure to look at it, naming `parameter`.
 */
export async function fileExists(file: string, parameter: ErrorParameter): Promise<boolean> {
  try {
    await fingerprintFile(file);
    return true;
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return false;
    throw vhdErrorFromFs(error, { parameter, path: file, action: "look at the file" });
  }
}

/** One string per fingerprint, for cache keys. */
export function fingerprintKey(fingerprint: FileFingerprint): string {
  const { dev, ino, size, mtimeNs, ctimeNs } = fingerprint;
  return `${dev}:${ino}:${size}:${mtimeNs}:${ctimeNs}`;
}
