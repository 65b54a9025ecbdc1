/**
 * A lock across processes for a record that is read, changed and replaced (the holds record beside a parent): two
 * `pulumi up`s, or the CLI and a stack, changing it at once would each write what they read plus their own change,
 * and one change would be lost. The lock is a file beside the record (`<record>.lock`) created with `O_EXCL`, so of
 * two processes exactly one gets it; it says who holds it (pid, host, since when), so a lock left by a process that
 * died can be broken: on this host when that pid no longer runs, from any host once it is older than any holder
 * keeps it (the work under it takes milliseconds). Waiting is bounded; then the error names the lock file.
 *
 * Within one process, callers still serialise themselves (resource/keyed-lock.ts): this lock is not re-entrant.
 */
import { randomBytes } from "node:crypto";
import { link, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { type ErrorParameter, VhdError } from "../errors";
import { errnoCode, vhdErrorFromFs } from "./fs-error";

/** What a lock file says about its holder. */
interface LockHolder {
  pid: number;
  host: string;
  /** When it was taken, ms since the epoch. */
  since: number;
}

/** Options of {@link withRecordLock}. */
export interface RecordLockOptions {
  /** The input the record belongs to, for errors (`parentPath` for a holds record). */
  parameter: ErrorParameter;
  /** How long to wait for another holder before giving up, in ms. Default 60 000. */
  waitMs?: number;
  /** Age in ms after which a lock is stale whoever holds it (a holder on another host cannot be asked). Default 30 000. */
  staleMs?: number;
}

/** The lock file's path for `record`. */
export function recordLockPath(record: string): string {
  return `${record}.lock`;
}

/**
 * Runs `work` holding the lock of `record`, and lets go after it, whether it succeeds or fails.
 * @throws VhdError `ERROR_SHARING_VIOLATION` when another process holds the lock for longer than `waitMs` (the error
 *   names the lock file and its holder), the table's file-system errors, and whatever `work` throws.
 */
export async function withRecordLock<T>(record: string, work: () => Promise<T>, options: RecordLockOptions): Promise<T> {
  const lock = recordLockPath(record);
  const ino = await acquire(lock, options);
  try {
    return await work();
  } finally {
    await releaseLock(lock, ino);
  }
}

/** Takes the lock; returns the inode of the lock file made, to tell it from a later holder's when letting go. */
async function acquire(lock: string, options: RecordLockOptions): Promise<number> {
  const { parameter, waitMs = 60_000, staleMs = 30_000 } = options;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const ino = await tryCreate(lock, parameter);
    if (ino !== null) return ino;
    const seen = await inspect(lock);
    if (seen !== null && isStale(seen, staleMs)) {
      await breakStale(lock, seen.ino);
      continue;
    }
    if (Date.now() >= deadline) throw heldTooLong(lock, seen?.holder ?? null, parameter);
    // Jittered, so waiting processes do not retry in step.
    await sleep(10 + Math.floor(Math.random() * 40));
  }
}

/** Creates the lock file (`O_EXCL`) saying who holds it; `null` when it exists. */
async function tryCreate(lock: string, parameter: ErrorParameter): Promise<number | null> {
  let handle;
  try {
    handle = await open(lock, "wx", 0o644);
  } catch (error) {
    if (errnoCode(error) === "EEXIST") return null;
    throw vhdErrorFromFs(error, { parameter, path: lock, action: "create the record's lock file" });
  }
  try {
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: Date.now() };
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
    return (await handle.stat()).ino;
  } catch (error) {
    await unlink(lock).catch(() => undefined);
    throw vhdErrorFromFs(error, { parameter, path: lock, action: "write the record's lock file" });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The lock file as it is: its inode and age, and its holder (`null` while it is being written or is garbled). */
async function inspect(lock: string): Promise<{ ino: number; mtimeMs: number; holder: LockHolder | null } | null> {
  try {
    const stats = await stat(lock);
    const text = await readFile(lock, "utf8").catch(() => "");
    let holder: LockHolder | null = null;
    try {
      const parsed = JSON.parse(text) as Partial<LockHolder>;
      if (typeof parsed.pid === "number" && typeof parsed.host === "string" && typeof parsed.since === "number") {
        holder = { pid: parsed.pid, host: parsed.host, since: parsed.since };
      }
    } catch {
      // Not written yet, or garbled: judged by its age alone.
    }
    return { ino: stats.ino, mtimeMs: stats.mtimeMs, holder };
  } catch {
    // Let go meanwhile: the next try may take it.
    return null;
  }
}

/** Stale: its holder, on this host, no longer runs, or it is older than `staleMs` (by the file's time, any host). */
function isStale(seen: { mtimeMs: number; holder: LockHolder | null }, staleMs: number): boolean {
  if (Date.now() - seen.mtimeMs > staleMs) return true;
  const holder = seen.holder;
  return holder !== null && holder.host === hostname() && holder.pid !== process.pid && !running(holder.pid);
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return errnoCode(error) === "EPERM";
  }
}

/**
 * Removes the stale lock with inode `ino`, and only it: it is first renamed to a name of our own, so a lock another
 * process took after ours was judged stale is put back (no-clobber link) instead of being removed. (When two
 * processes break the same stale lock and a third takes a fresh one between their renames, that fresh lock can still
 * be lost: three processes within a few microseconds, after a crash.)
 */
async function breakStale(lock: string, ino: number): Promise<void> {
  const aside = `${lock}.${randomBytes(6).toString("hex")}.stale`;
  try {
    await rename(lock, aside);
  } catch {
    return; // someone else broke or released it
  }
  const moved = await stat(aside).catch(() => null);
  if (moved !== null && moved.ino !== ino) await link(aside, lock).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/** Removes the lock file if it is still the one we made. */
async function releaseLock(lock: string, ino: number): Promise<void> {
  const now = await stat(lock).catch(() => null);
  if (now?.ino === ino) await unlink(lock).catch(() => undefined);
}

function heldTooLong(lock: string, holder: LockHolder | null, parameter: ErrorParameter): VhdError {
  const who = holder === null ? "another process" : `process ${holder.pid} on ${holder.host} (since ${new Date(holder.since).toISOString()})`;
  return new VhdError(
    "ERROR_SHARING_VIOLATION",
    `${who} holds the lock ${lock} of the record beside it and did not let go in time; retry when it is done, or ` +
      "remove the lock file if no pulumi-vhd process (a `pulumi up`, a `vhd` command) is running on any machine",
    { parameter, path: lock, details: { lock, holder } },
  );
}
