import { VhdError, isVhdError, type ErrorParameter } from "../errors";
import { throwIfCancelled } from "../support/cancellation";
import { EarlyFlush } from "./early-flush";
import { alreadyExists } from "./no-clobber-publish";
import type { RandomAccessFile, Storage } from "./port";
import { creatorGone } from "./process-tag";
import { splitPath, temporaryCreator, temporaryPathFor } from "./temporary-names";

/**
 * How {@link createFileAtomically} makes its file durable, named as `qemu-img convert -t` names its cache modes
 * (qemu block.c `bdrv_parse_cache_mode`). Either way the file is published only once complete and a failure or cancel
 * leaves nothing at the target; the modes differ in what a power loss (or a kernel crash) soon after the call returns
 * can leave there.
 * - `writeback`: the file is flushed in the background as it is written, synced before it is published, and its
 *   folder entry synced after: once the call returns, the whole file is on the disk (qemu's `writeback` flushes at
 *   close, without the publish).
 * - `unsafe`: nothing is synced, the kernel writes the file back when it will (within about 30 s on Linux): until then a
 *   power loss may leave the published name holding stale or zero data, or no entry at all. qemu-img convert's
 *   default, where `BDRV_O_NO_FLUSH` makes every flush, the one at close included, a no-op (block/io.c `bdrv_co_flush`).
 */
export type CacheMode = "writeback" | "unsafe";

/** Every {@link CacheMode}, the default first. */
export const CACHE_MODES: readonly CacheMode[] = ["writeback", "unsafe"];

/** Options of {@link createFileAtomically}. */
export interface AtomicFileOptions {
  /** Where the file is created. */
  storage: Storage;
  /** Cancels the creation: the temporary file is removed and the call rejects with `VM_E_APP_SHUTTING_DOWN`. */
  signal?: AbortSignal;
  /** The input the target path came from, for error messages (default `imagePath`). */
  parameter?: ErrorParameter;
  /** How the file is made durable (default `writeback`: synced before it is published). */
  cache?: CacheMode;
}

/** Fills the temporary file. It may check `signal` between steps; it must not close `file`. */
export type FileWriter<T> = (file: RandomAccessFile, signal: AbortSignal | undefined) => Promise<T>;

/**
 * How long a temporary file of an earlier create may go unwritten before it counts as abandoned (its process was
 * killed, or its connection to the host was lost). A create writes at least every few seconds.
 */
export const STALE_TEMPORARY_NS = 60n * 1_000_000_000n;

/**
 * Removes the temporary files an interrupted create of the same target left, and nothing else: only names of the
 * exact pattern `temporaryPathFor` gives (`.name.<12 hex>.<creator>-<pid>.tmp`), only regular files (never a link),
 * and of those only the ones whose creator is known to be gone (same kernel boot and pid namespace, pid no longer
 * running: `creatorGone`) or that went {@link STALE_TEMPORARY_NS} unwritten. Age is the only evidence about a
 * creator on another machine or in another container, and it is measured by the clock of the host that holds the
 * files (`reference` is a file just made there, so a host whose clock differs from this machine's is judged by its
 * own). Never fails the create.
 */
async function sweepStaleTemporaries(storage: Storage, targetPath: string, reference: string): Promise<void> {
  const { folder, name } = splitPath(targetPath);
  try {
    // The host's clock is read only when there is a leftover to judge (a fingerprint costs a remote host a command).
    let now: bigint | undefined;
    for (const entry of await storage.list(folder)) {
      const path = `${folder}${entry.name}`;
      const creator = temporaryCreator(entry.name, name);
      if (creator === undefined || path === reference || entry.kind !== "file") continue;
      if (creatorGone(creator)) {
        await storage.unlink(path);
        continue;
      }
      now ??= BigInt((await storage.fingerprint(reference)).mtimeNs);
      if (now - BigInt((await storage.fingerprint(path)).mtimeNs) >= STALE_TEMPORARY_NS) await storage.unlink(path);
    }
  } catch {
    // Best effort: a leftover that cannot be removed now is tried again by the next create.
  }
}

/**
 * Creates `targetPath` as a whole or not at all. `write` fills a new temporary file in the target's folder
 * (`Storage.createExclusive`: never through a symbolic link, mode 0644 before umask), flushed in the background every
 * 64 MiB as it is written (`EarlyFlush`, so the last sync has little left); the file is synced, then
 * published without clobbering (`Storage.publishNoClobber`: an existing file or link at the target is never touched)
 * and its folder entry made durable. With `cache: "unsafe"` the file is neither flushed nor synced ({@link CacheMode}).
 *
 * On any failure or cancel, the temporary file is removed and nothing is left at the target. What a failure cannot
 * remove (the process killed, the connection to the host lost) the next create of the same target removes once it has
 * gone unwritten for a minute (`sweepStaleTemporaries`).
 *
 * @returns what `write` returned.
 * @throws `ERROR_ALREADY_EXISTS` if anything exists at the target, `VM_E_APP_SHUTTING_DOWN` on cancel, the storage's
 * errors, or whatever `write` threw.
 */
export async function createFileAtomically<T>(
  targetPath: string,
  write: FileWriter<T>,
  options: AtomicFileOptions,
): Promise<T> {
  const { storage, signal, parameter = "imagePath", cache = "writeback" } = options;
  const context = { parameter, path: targetPath };
  throwIfCancelled(signal, context);
  const temporaryPath = temporaryPathFor(targetPath);
  let file: RandomAccessFile | undefined;
  let published = false;
  let swept: Promise<void> | undefined;
  let early: EarlyFlush | undefined;
  try {
    // Fails early, before any work, when the target is taken; the look and the temporary file's creation go out
    // together (on a remote host they share round trips); a temporary file made meanwhile is removed below. The
    // publish still decides (a racer may come later).
    const [existing, opened] = await Promise.allSettled([storage.pathFacts(targetPath), storage.createExclusive(temporaryPath, { parameter })]);
    if (opened.status === "fulfilled") file = opened.value;
    if (existing.status === "rejected") throw existing.reason;
    if (existing.value.kind !== "missing" && existing.value.kind !== "through-file") {
      throw alreadyExists(targetPath, parameter, existing.value.kind === "symlink");
    }
    if (opened.status === "rejected") throw opened.reason;
    file = opened.value;
    // Side by side with the write: independent of it, and on a remote host its listing then shares the write's
    // round trips instead of adding its own. Awaited before the publish, so a create still ends with its folder swept.
    swept = sweepStaleTemporaries(storage, targetPath, temporaryPath);
    const durable = cache === "writeback";
    if (durable) early = new EarlyFlush(file);
    const result = await write(early?.file ?? file, signal);
    await early?.settle();
    throwIfCancelled(signal, context);
    if (durable) await file.sync();
    await file.close();
    file = undefined;
    await swept;
    throwIfCancelled(signal, context);
    await storage.publishNoClobber(temporaryPath, targetPath, parameter);
    published = true;
    return result;
  } catch (error) {
    throw namingTarget(error, storage, temporaryPath, targetPath);
  } finally {
    // A background flush still running must end before its file is closed and removed.
    await early?.settle().catch(() => undefined);
    await file?.close();
    await swept;
    // A successful publish took the temporary name away; otherwise this is the cleanup.
    if (!published) await storage.unlink(temporaryPath).catch(() => undefined);
  }
}

/**
 * An error about the temporary file, as one about the target: the temporary name is ours, the target is what the
 * caller asked for (and what the error and its reason must name, the way the storage names it: a remote adapter's
 * errors name the file with its host); the temporary path stays in `details`.
 */
function namingTarget(error: unknown, storage: Storage, temporaryPath: string, targetPath: string): unknown {
  if (!isVhdError(error)) return error;
  const named = error.path === temporaryPath ? targetPath : error.path === storage.describe(temporaryPath) ? storage.describe(targetPath) : undefined;
  if (named === undefined) return error;
  // The reason too speaks of the target ("could not create the file ..."): the temporary name means nothing to the user.
  const reason = error.reason.replaceAll(storage.describe(temporaryPath), storage.describe(targetPath)).replaceAll(temporaryPath, targetPath);
  return new VhdError(error.code, reason, {
    parameter: error.parameter,
    value: error.value,
    path: named,
    pathParameter: error.pathParameter,
    cause: error,
    details: { ...error.details, temporaryPath },
  });
}
