import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, lstat, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { VhdError, type ErrorParameter } from "../errors";
import { throwIfCancelled } from "../support/cancellation";
import { errnoCode, vhdErrorFromFs } from "./local/fs-error";

/** Options of {@link createFileAtomically}. */
export interface AtomicFileOptions {
  /** Cancels the creation: the temporary file is removed and the call rejects with `VM_E_APP_SHUTTING_DOWN`. */
  signal?: AbortSignal;
  /** The input the target path came from, for error messages (default `imagePath`). */
  parameter?: ErrorParameter;
}

/** Fills the temporary file. It may check `signal` between steps; it must not close `handle`. */
export type FileWriter<T> = (handle: FileHandle, signal: AbortSignal | undefined) => Promise<T>;

/** Errors of `link` that mean "this file system has no hard links", not "the target is taken" (FAT, some SMB/FUSE). */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV"]);

/** The name of the temporary file for `target`: hidden, next to it, saying what it is and unique per call. */
function temporaryPathFor(targetPath: string): string {
  return join(dirname(targetPath), `.${basename(targetPath)}.${randomBytes(6).toString("hex")}.tmp`);
}

/**
 * Creates `targetPath` as a whole or not at all. `write` fills a new temporary file in the target's folder
 * (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0644 before umask); the file is fsynced, then published with a no-clobber
 * `link(temp, target)` (which fails with EEXIST on any existing entry, a symbolic link included, and never follows it),
 * the temporary name is unlinked and the folder fsynced so the new entry survives a crash.
 *
 * On any failure or cancel, the temporary file is removed and nothing is left at the target; an existing file or link
 * at the target is never touched. On file systems without hard links the target name is claimed with `O_EXCL` and the
 * finished temporary file renamed over that claim.
 *
 * @returns what `write` returned.
 * @throws `ERROR_ALREADY_EXISTS` if anything exists at the target, `VM_E_APP_SHUTTING_DOWN` on cancel, the table's
 * file-system errors (see `fs-error.ts`), or whatever `write` threw.
 */
export async function createFileAtomically<T>(
  targetPath: string,
  write: FileWriter<T>,
  options: AtomicFileOptions = {},
): Promise<T> {
  const { signal, parameter = "imagePath" } = options;
  const context = { parameter, path: targetPath };
  throwIfCancelled(signal, context);
  await refuseExistingTarget(targetPath, parameter);

  const temporaryPath = temporaryPathFor(targetPath);
  let handle: FileHandle | undefined;
  try {
    handle = await open(
      temporaryPath,
      constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    ).catch((error: unknown) => {
      throw vhdErrorFromFs(error, { ...context, action: `create the temporary file ${temporaryPath}` });
    });
    const result = await write(handle, signal);
    throwIfCancelled(signal, context);
    await handle.sync().catch((error: unknown) => {
      throw vhdErrorFromFs(error, { ...context, action: "flush the new file to disk" });
    });
    await handle.close();
    handle = undefined;
    throwIfCancelled(signal, context);
    await publish(temporaryPath, targetPath, parameter);
    await syncFolder(dirname(targetPath));
    return result;
  } finally {
    await handle?.close().catch(() => undefined);
    // Nothing to do after a successful publish (the temporary name is gone); otherwise this is the cleanup.
    await unlink(temporaryPath).catch(() => undefined);
  }
}

/** Fails early, before any work, when the target is taken. The final `link` still decides (a racer may come later). */
async function refuseExistingTarget(targetPath: string, parameter: ErrorParameter): Promise<void> {
  const existing = await lstat(targetPath).catch(() => undefined);
  if (existing !== undefined) throw alreadyExists(targetPath, parameter, existing.isSymbolicLink());
}

function alreadyExists(targetPath: string, parameter: ErrorParameter, symbolicLink: boolean): VhdError {
  const what = symbolicLink ? "a symbolic link" : "a file";
  return new VhdError(
    "ERROR_ALREADY_EXISTS",
    `${what} already exists at this path; it was left untouched. Choose another path or remove it first`,
    { parameter, path: targetPath },
  );
}

/** Gives the finished temporary file its final name without ever replacing an existing entry. */
async function publish(temporaryPath: string, targetPath: string, parameter: ErrorParameter): Promise<void> {
  try {
    await link(temporaryPath, targetPath);
    // The temporary name is now a second name of the target; if removing it fails, the caller's cleanup retries.
    await unlink(temporaryPath).catch(() => undefined);
    return;
  } catch (error) {
    const errno = errnoCode(error);
    if (errno === "EEXIST") throw alreadyExists(targetPath, parameter, await isSymbolicLink(targetPath));
    if (errno === undefined || !NO_HARD_LINKS.has(errno)) {
      throw vhdErrorFromFs(error, { parameter, path: targetPath, action: "publish the new file under its name" });
    }
  }
  await claimThenRename(temporaryPath, targetPath, parameter);
}

/**
 * The fallback without hard links: claim the name with an empty `O_EXCL|O_NOFOLLOW` file, then rename the temporary
 * file over our own claim. If the rename fails, the claim (a file we created) is removed again.
 */
async function claimThenRename(temporaryPath: string, targetPath: string, parameter: ErrorParameter): Promise<void> {
  const action = "publish the new file under its name";
  try {
    const claim = await open(targetPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    await claim.close();
  } catch (error) {
    if (errnoCode(error) === "EEXIST") throw alreadyExists(targetPath, parameter, await isSymbolicLink(targetPath));
    throw vhdErrorFromFs(error, { parameter, path: targetPath, action });
  }
  try {
    await rename(temporaryPath, targetPath);
  } catch (error) {
    await unlink(targetPath).catch(() => undefined);
    throw vhdErrorFromFs(error, { parameter, path: targetPath, action });
  }
}

async function isSymbolicLink(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isSymbolicLink() ?? false;
}

/**
 * fsyncs a folder so a new entry in it survives a power cut (POSIX leaves this to the application). Some file systems
 * refuse to fsync a folder (EINVAL, EISDIR): the entry is then as durable as that file system makes it.
 */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, constants.O_RDONLY).catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync();
  } catch {
    // Durability of the entry is best effort where the file system does not support it; the data is already synced.
  } finally {
    await handle.close();
  }
}
