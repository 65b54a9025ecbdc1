import { randomBytes } from "node:crypto";
import { VhdError, isVhdError, type ErrorParameter } from "../errors";
import { throwIfCancelled } from "../support/cancellation";
import { alreadyExists } from "./no-clobber-publish";
import type { RandomAccessFile, Storage } from "./port";

/** Options of {@link createFileAtomically}. */
export interface AtomicFileOptions {
  /** Where the file is created. */
  storage: Storage;
  /** Cancels the creation: the temporary file is removed and the call rejects with `VM_E_APP_SHUTTING_DOWN`. */
  signal?: AbortSignal;
  /** The input the target path came from, for error messages (default `imagePath`). */
  parameter?: ErrorParameter;
}

/** Fills the temporary file. It may check `signal` between steps; it must not close `file`. */
export type FileWriter<T> = (file: RandomAccessFile, signal: AbortSignal | undefined) => Promise<T>;

/** The name of the temporary file for `target`: hidden, next to it, saying what it is and unique per call. */
function temporaryPathFor(targetPath: string): string {
  const slash = Math.max(targetPath.lastIndexOf("/"), targetPath.lastIndexOf("\\"));
  const folder = targetPath.slice(0, slash + 1);
  return `${folder}.${targetPath.slice(slash + 1)}.${randomBytes(6).toString("hex")}.tmp`;
}

/**
 * Creates `targetPath` as a whole or not at all. `write` fills a new temporary file in the target's folder
 * (`Storage.createExclusive`: never through a symbolic link, mode 0644 before umask); the file is synced, then
 * published without clobbering (`Storage.publishNoClobber`: an existing file or link at the target is never touched)
 * and its folder entry made durable.
 *
 * On any failure or cancel, the temporary file is removed and nothing is left at the target.
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
  const { storage, signal, parameter = "imagePath" } = options;
  const context = { parameter, path: targetPath };
  throwIfCancelled(signal, context);
  // Fails early, before any work, when the target is taken. The publish still decides (a racer may come later).
  const existing = await storage.pathFacts(targetPath);
  if (existing.kind !== "missing" && existing.kind !== "through-file") {
    throw alreadyExists(targetPath, parameter, existing.kind === "symlink");
  }

  const temporaryPath = temporaryPathFor(targetPath);
  let file: RandomAccessFile | undefined;
  try {
    file = await storage.createExclusive(temporaryPath, { parameter });
    const result = await write(file, signal);
    throwIfCancelled(signal, context);
    await file.sync();
    await file.close();
    file = undefined;
    throwIfCancelled(signal, context);
    await storage.publishNoClobber(temporaryPath, targetPath, parameter);
    return result;
  } catch (error) {
    throw namingTarget(error, temporaryPath, targetPath);
  } finally {
    await file?.close();
    // Nothing to do after a successful publish (the temporary name is gone); otherwise this is the cleanup.
    await storage.unlink(temporaryPath).catch(() => undefined);
  }
}

/**
 * An error about the temporary file, as one about the target: the temporary name is ours, the target is what the
 * caller asked for (and what the error must name); the temporary path stays in `details`.
 */
function namingTarget(error: unknown, temporaryPath: string, targetPath: string): unknown {
  if (!isVhdError(error) || error.path !== temporaryPath) return error;
  return new VhdError(error.code, error.reason, {
    parameter: error.parameter,
    value: error.value,
    path: targetPath,
    pathParameter: error.pathParameter,
    cause: error,
    details: { ...error.details, temporaryPath },
  });
}
