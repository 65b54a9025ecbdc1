/**
 * The names of a create's temporary files, `.name.<12 hex>.<creator>-<pid>.tmp`, and how a later create tells an
 * abandoned one from one a live create is still writing: `<creator>` is this process's tag (storage/process-tag.ts),
 * so a pid in the name is probed only by a process of the same boot and pid namespace.
 */
import { randomBytes } from "node:crypto";
import { CREATOR_TAG, type Creator } from "./process-tag";

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

/**
 * The creator of `entry` when it is a temporary name {@link temporaryPathFor} gives for a target named `name`,
 * else undefined: only that exact pattern is ever a create's leftover.
 */
export function temporaryCreator(entry: string, name: string): Creator | undefined {
  const prefix = `.${name}.`;
  if (!entry.startsWith(prefix)) return undefined;
  const match = /^[0-9a-f]{12}\.([0-9a-f]{8})-([1-9]\d{0,9})\.tmp$/.exec(entry.slice(prefix.length));
  return match?.[1] === undefined || match[2] === undefined ? undefined : { tag: match[1], pid: Number(match[2]) };
}
