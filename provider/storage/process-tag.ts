/**
 * Which process left a file behind, in a form another process can judge: a `<tag>` and a pid, where the tag is 8 hex
 * digits of the SHA-256 of this kernel's boot id (`/proc/sys/kernel/random/boot_id`) and this process's pid namespace
 * (`/proc/self/ns/pid`). A pid means the same process only to a reader with the same tag. A host name does not tell
 * that (containers share or copy host names, and each has its own pids), and a pid of an earlier boot may now be
 * another process. Where the two cannot be read (not Linux), the tag is random per process, so no other process
 * trusts a pid in it. Used by temporary files' names and the record lock's holder.
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

/** This process's tag (see the module comment). */
export const CREATOR_TAG =
  PID_SPACE === undefined ? randomBytes(4).toString("hex") : createHash("sha256").update(PID_SPACE).digest("hex").slice(0, 8);

/** A process as another process can judge it: its tag and its pid. */
export interface Creator {
  tag: string;
  pid: number;
}

/**
 * True only when the creator is known to be gone: it ran in this boot and pid namespace (same tag) and its pid no
 * longer runs (signal 0 probes without sending anything). A pid that runs may be a new process with a recycled pid;
 * what it left is kept, and judged by its age instead.
 */
export function creatorGone(creator: Creator): boolean {
  if (creator.tag !== CREATOR_TAG || creator.pid === process.pid) return false;
  try {
    process.kill(creator.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
