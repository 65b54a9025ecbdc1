/**
 * Durable no-clobber publish of a finished temporary file, over the few name operations an adapter has: a hard link
 * (which fails on any existing entry, a symbolic link included, and never follows it), else, where the file system
 * has no hard links (FAT, some SMB/FUSE), claiming the name with an exclusive create and renaming over that claim.
 * Adapters implement `Storage.publishNoClobber` with it, so the local and the in-memory adapter run the same steps.
 */
import { VhdError, type ErrorParameter } from "../errors";
import { errnoCode } from "./local/fs-error";

/** The name operations the publish needs. They reject with errno-style errors (`code: "EEXIST"`, ...). */
export interface NamePrimitives {
  /** `link(2)`: a second name for `existingPath`; EEXIST when `newPath` is taken. */
  link(existingPath: string, newPath: string): Promise<void>;
  /** Creates an empty file at `path` with `O_CREAT|O_EXCL|O_NOFOLLOW`; EEXIST when anything is there. */
  claim(path: string): Promise<void>;
  /** `rename(2)` over an existing entry. */
  rename(sourcePath: string, targetPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** True when a symbolic link (dangling or not) is at `path`. */
  isSymbolicLink(path: string): Promise<boolean>;
  /** Makes the folder's entries durable, where the file system can; never fails. */
  syncFolder(folder: string): Promise<void>;
  /** The folder of a path, in the host's flavour. */
  dirname(path: string): string;
  /** Turns a primitive's rejection into the table's error. */
  toVhdError(error: unknown, context: { parameter?: ErrorParameter; path: string; action: string }): VhdError;
}

/** Errors of `link` that mean "this file system has no hard links", not "the target is taken". */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV"]);

/** The error for a taken target: it was left untouched. */
export function alreadyExists(targetPath: string, parameter: ErrorParameter | undefined, symbolicLink: boolean): VhdError {
  const what = symbolicLink ? "a symbolic link" : "a file";
  return new VhdError(
    "ERROR_ALREADY_EXISTS",
    `${what} already exists at this path; it was left untouched. Choose another path or remove it first`,
    { parameter, path: targetPath },
  );
}

/**
 * Gives the synced file at `temporaryPath` the name `targetPath` without ever replacing an entry there, then makes
 * the entry durable. On failure the temporary file is still there (the caller removes it).
 * @throws `ERROR_ALREADY_EXISTS` when the target is taken; the primitives' mapped errors.
 */
export async function publishNoClobber(
  names: NamePrimitives,
  temporaryPath: string,
  targetPath: string,
  parameter?: ErrorParameter,
): Promise<void> {
  const action = "publish the new file under its name";
  let linked = false;
  try {
    await names.link(temporaryPath, targetPath);
    linked = true;
  } catch (error) {
    const errno = errnoCode(error);
    if (errno === "EEXIST") throw alreadyExists(targetPath, parameter, await names.isSymbolicLink(targetPath));
    if (errno === undefined || !NO_HARD_LINKS.has(errno)) throw names.toVhdError(error, { parameter, path: targetPath, action });
  }
  if (linked) {
    // The temporary name is now a second name of the target; if removing it fails, the next create's sweep of leftover
    // temporary names removes it (atomic-create.ts), the target staying.
    await names.unlink(temporaryPath).catch(() => undefined);
  } else {
    await claimThenRename(names, temporaryPath, targetPath, parameter, action);
  }
  await names.syncFolder(names.dirname(targetPath));
}

/** The fallback without hard links. If the rename fails, the claim (a file we created) is removed again. */
async function claimThenRename(
  names: NamePrimitives,
  temporaryPath: string,
  targetPath: string,
  parameter: ErrorParameter | undefined,
  action: string,
): Promise<void> {
  try {
    await names.claim(targetPath);
  } catch (error) {
    if (errnoCode(error) === "EEXIST") throw alreadyExists(targetPath, parameter, await names.isSymbolicLink(targetPath));
    throw names.toVhdError(error, { parameter, path: targetPath, action });
  }
  try {
    await names.rename(temporaryPath, targetPath);
  } catch (error) {
    await names.unlink(targetPath).catch(() => undefined);
    throw names.toVhdError(error, { parameter, path: targetPath, action });
  }
}
