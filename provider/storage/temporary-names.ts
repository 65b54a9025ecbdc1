/**
 * The names of a create's temporary files, `.name.<12 hex>.<creator>-<pid>.tmp`, and how a later create tells an
 * abandoned one from one a live create is still writing.
 *
 * The `<creator>` tag is 8 hex digits of the SHA-256 of this kernel's boot id (`/proc/sys/kernel/random/boot_id`)
 * and this process's pid namespace (`/proc/self/ns/pid`): a pid means the same process only to a reader with the
 * same tag. A host name does not tell that (containers share or copy host names, and each has its own pids), and a
 * pid of an earlier boot may now be another process. Where the two cannot be read (not Linux), the tag is random
 * per process, so no other process trusts a pid in it.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";

/** This kernel boot and pid namespace, or undefined where they cannot be read. */
function pidSpace(): string | undefined {
  try {
    return `${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()} ${readlinkSync("/proc/self/ns/pid")}`;
  } catch {
    return undefined;
  }
}

const PID_SPACE = pidSpace();

/** The creator tag of temporary files this process makes (see the module comment). */
export const CREATOR_TAG =
  PID_SPACE === undefined ? randomBytes(4).toString("hex") : createHash("sha256").update(PID_SPACE).digest("hex").slice(0, 8);

/** The folder (with its trailing separator) and name of a path, in either path flavour. */
export function splitPath(path: string): { folder: string; name: string } {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return { folder: path.slice(0, slash + 1), name: path.slice(slash + 1) };
}

/** A fresh temporary name for `targetPath`: hidden, next to it, unique per call, naming this process as its creator. */
export function temporaryPathFor(targetPath: string): string {
  const { folder, name } = splitPath(targetPath);
  return `${folder}.${name}.${randomBytes(6).toString("hex")}.${CREATOR_TAG}-${process.pid}.tmp`;
}

/** Who made a temporary file, read back from its name. */
export interface TemporaryCreator {
  tag: string;
  pid: number;
}

/**
 * The creator of `entry` when it is a temporary name {@link temporaryPathFor} gives for a target named `name`,
 * else undefined: only that exact pattern is ever a create's leftover.
 */
export function temporaryCreator(entry: string, name: string): TemporaryCreator | undefined {
  const prefix = `.${name}.`;
  if (!entry.startsWith(prefix)) return undefined;
  const match = /^[0-9a-f]{12}\.([0-9a-f]{8})-([1-9]\d{0,9})\.tmp$/.exec(entry.slice(prefix.length));
  return match?.[1] === undefined || match[2] === undefined ? undefined : { tag: match[1], pid: Number(match[2]) };
}

/**
 * True only when the creator is known to be gone: it ran in this boot and pid namespace (same tag) and its pid no
 * longer runs (signal 0 probes without sending anything). A pid that runs may be a new process with a recycled pid;
 * that file is kept, and judged by its age instead.
 */
export function creatorGone(creator: TemporaryCreator): boolean {
  if (creator.tag !== CREATOR_TAG || creator.pid === process.pid) return false;
  try {
    process.kill(creator.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
