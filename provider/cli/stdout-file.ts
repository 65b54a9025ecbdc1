/**
 * Standard output as a file the caller may write at any position, when it is one: `vhd read disk.vhd > out.raw`
 * redirects stdout to a new, empty regular file, and writing the disk's data at its offsets (leaving holes where
 * the disk has none) is what makes the copy as fast and as sparse as `qemu-img convert -O raw`.
 */
import { fstatSync, readlinkSync } from "node:fs";
import { isVhdError } from "../errors";
import { localStorage } from "../storage/local/local-storage";
import type { RandomAccessFile } from "../storage/port";

/**
 * A second open of the regular file stdout points to, or `undefined` when stdout is a pipe, a terminal, a file that
 * already holds bytes (`>>`: they must stay, and in front) or the OS has no `/proc/self/fd` (everything but Linux).
 * The caller closes the file.
 */
export async function openStdoutAsEmptyFile(): Promise<RandomAccessFile | undefined> {
  if (process.platform !== "linux") return undefined;
  const stats = fstatSync(process.stdout.fd);
  if (!stats.isFile() || stats.size !== 0) return undefined;
  // Reopening through /proc gives a file of our own, without O_APPEND, on the same file.
  return localStorage.open(stdoutPath(), { writable: true, parameter: "stdout" });
}

function stdoutPath(): string {
  return `/proc/self/fd/${process.stdout.fd}`;
}

/**
 * An error about the file opened by {@link openStdoutAsEmptyFile}, naming the file the shell opened (`> out.raw`)
 * rather than `/proc/self/fd/1`, which the user never typed. Any other error passes through.
 */
export function namingStdoutFile(error: unknown): unknown {
  if (!isVhdError(error) || error.path !== stdoutPath()) return error;
  let file: string;
  try {
    file = readlinkSync(stdoutPath());
  } catch {
    return error;
  }
  return error.withPathNamed(() => file);
}
