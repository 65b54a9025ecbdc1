/**
 * A lock across processes for a record that is read, changed and replaced (the holds record beside a parent): two
 * `pulumi up`s, or the CLI and a stack, changing it at once would each write what they read plus their own change,
 * and one change would be lost. The lock is a file beside the record (`<record>.lock`) on the record's own storage,
 * made with `Storage.createExclusive`, so of two processes exactly one gets it; it says who holds it (pid, the
 * process tag of storage/process-tag.ts, host, since when, a nonce), so a lock left by a process that died can be
 * broken: by a process of the same boot and pid namespace (same tag) when that pid no longer runs, by any process once
 * its file is older than any holder keeps it (the work under it takes milliseconds). The host name is only shown: two
 * containers can share one, each with its own pids. Waiting is bounded; then the error names the lock file.
 *
 * Within one process, callers still serialise themselves (ops/keyed-lock.ts): this lock is not re-entrant.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { type ErrorParameter, isVhdError, VhdError } from "../errors";
import { modifiedDate } from "./facts";
import { readJsonRecord } from "./json-record";
import type { RandomAccessFile, Storage } from "./port";
import { CREATOR_TAG, creatorGone } from "./process-tag";

/** What a lock file says about its holder. */
interface LockHolder {
  pid: number;
  /** The holder's process tag (storage/process-tag.ts); absent in locks of earlier versions, judged by age only. */
  tag?: string;
  /** Shown in errors only. */
  host: string;
  /** When it was taken, ms since the epoch. */
  since: number;
  /** Random hex, one per lock taken: a file system may give a new lock file the inode of one just removed. */
  nonce: string;
}

/** Which lock file this is: its inode and the nonce written in it (undefined while unwritten or garbled). */
interface LockIdentity {
  ino: string;
  nonce: string | undefined;
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
 * Runs `work` holding the lock of `record` on `storage`, and lets go after it, whether it succeeds or fails.
 * @throws VhdError `ERROR_SHARING_VIOLATION` when another process holds the lock for longer than `waitMs` (the error
 *   names the lock file and its holder), the storage's errors creating the lock, and whatever `work` throws.
 */
export async function withRecordLock<T>(
  storage: Storage,
  record: string,
  work: () => Promise<T>,
  options: RecordLockOptions,
): Promise<T> {
  const lock = recordLockPath(record);
  const nonce = await acquire(storage, lock, options);
  try {
    return await work();
  } finally {
    await releaseLock(storage, lock, nonce, options.parameter);
  }
}

/**
 * Takes the lock; returns the nonce written in the lock file it made, which tells it from a later holder's when
 * letting go (only this call knows it, so no inode is needed for that: asking a remote host for one costs a command).
 */
async function acquire(storage: Storage, lock: string, options: RecordLockOptions): Promise<string> {
  const { parameter, waitMs = 60_000, staleMs = 30_000 } = options;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const ours = await tryCreate(storage, lock, parameter);
    if (ours !== null) return ours;
    const seen = await inspect(storage, lock, parameter);
    if (seen !== null && isStale(seen, staleMs)) {
      await breakStale(storage, lock, seen, parameter);
      continue;
    }
    if (Date.now() >= deadline) throw heldTooLong(storage, lock, seen?.holder ?? null, parameter);
    // Jittered, so waiting processes do not retry in step.
    await sleep(10 + Math.floor(Math.random() * 40));
  }
}

/** Creates the lock file saying who holds it; its nonce, or `null` when a lock file exists. */
async function tryCreate(storage: Storage, lock: string, parameter: ErrorParameter): Promise<string | null> {
  let file: RandomAccessFile;
  try {
    file = await storage.createExclusive(lock, { mode: 0o644, parameter });
  } catch (error) {
    if (isVhdError(error) && error.code === "ERROR_ALREADY_EXISTS") return null;
    throw error;
  }
  try {
    const holder: LockHolder = { pid: process.pid, tag: CREATOR_TAG, host: hostname(), since: Date.now(), nonce: randomBytes(8).toString("hex") };
    await file.write(0, new TextEncoder().encode(`${JSON.stringify(holder)}\n`));
    await file.close();
    return holder.nonce;
  } catch (error) {
    await file.close();
    await storage.unlink(lock).catch(() => undefined);
    throw error;
  }
}

/** A lock file as it is: which one, its age, and its holder (`null` while it is being written or is garbled). */
interface SeenLock extends LockIdentity {
  mtimeMs: number;
  holder: LockHolder | null;
}

/** The lock file at `at` as it is; `null` when there is none. */
async function inspect(storage: Storage, at: string, parameter: ErrorParameter): Promise<SeenLock | null> {
  const fingerprint = await storage.fingerprint(at, parameter).catch(() => null);
  // Let go meanwhile: the next try may take it.
  if (fingerprint === null) return null;
  const holder = await readHolder(storage, at, parameter);
  return { ino: fingerprint.ino, nonce: holder?.nonce, mtimeMs: modifiedDate(fingerprint).getTime(), holder };
}

/** The holder a lock file names; `null` when it is gone, being written or garbled. */
async function readHolder(storage: Storage, at: string, parameter: ErrorParameter): Promise<LockHolder | null> {
  const parsed = (await readJsonRecord(storage, at, parameter).catch(() => null)) as Partial<LockHolder> | null;
  return typeof parsed?.pid === "number" &&
    typeof parsed.host === "string" &&
    typeof parsed.since === "number" &&
    typeof parsed.nonce === "string"
      ? {
          pid: parsed.pid,
          ...(typeof parsed.tag === "string" ? { tag: parsed.tag } : {}),
          host: parsed.host,
          since: parsed.since,
          nonce: parsed.nonce,
        }
      : null;
}

function sameLock(a: LockIdentity, b: LockIdentity): boolean {
  return a.ino === b.ino && a.nonce === b.nonce;
}

/** Stale: its holder is known to be gone (same process tag, pid not running), or it is older than `staleMs`. */
function isStale(seen: { mtimeMs: number; holder: LockHolder | null }, staleMs: number): boolean {
  if (Date.now() - seen.mtimeMs > staleMs) return true;
  const holder = seen.holder;
  return holder?.tag !== undefined && creatorGone({ tag: holder.tag, pid: holder.pid });
}

/**
 * Removes the stale lock `stale`, and only it: it is first renamed to a name of our own, so a lock another process
 * took after ours was judged stale (another inode or nonce) is put back (no-clobber publish) instead of being removed. (When two
 * processes break the same stale lock and a third takes a fresh one between their renames, that fresh lock can still
 * be lost: three processes within a few microseconds, after a crash.)
 */
async function breakStale(storage: Storage, lock: string, stale: LockIdentity, parameter: ErrorParameter): Promise<void> {
  const aside = `${lock}.${randomBytes(6).toString("hex")}.stale`;
  try {
    await storage.replace(lock, aside);
  } catch {
    return; // someone else broke or released it
  }
  const moved = await inspect(storage, aside, parameter);
  if (moved !== null && !sameLock(moved, stale)) await storage.publishNoClobber(aside, lock).catch(() => undefined);
  // Gone already when it was put back; still there when it was ours to break or a new lock took the name meanwhile.
  await storage.unlink(aside).catch(() => undefined);
}

/** Removes the lock file if it is still the one we made (it still carries our nonce). */
async function releaseLock(storage: Storage, lock: string, nonce: string, parameter: ErrorParameter): Promise<void> {
  if ((await readHolder(storage, lock, parameter))?.nonce === nonce) await storage.unlink(lock).catch(() => undefined);
}

/** The refusal after waiting, the lock named as `storage` names a path (with its host on a remote one). */
function heldTooLong(storage: Storage, lock: string, holder: LockHolder | null, parameter: ErrorParameter): VhdError {
  const who = holder === null ? "another process" : `process ${holder.pid} on ${holder.host} (since ${new Date(holder.since).toISOString()})`;
  return new VhdError(
    "ERROR_SHARING_VIOLATION",
    `${who} holds the lock ${storage.describe(lock)} of the record beside it and did not let go in time; retry when it is done, or ` +
      "remove the lock file if no pulumi-vhd process (a `pulumi up`, a `vhd` command) is running on any machine",
    { parameter, path: lock, details: { lock, holder } },
  );
}
