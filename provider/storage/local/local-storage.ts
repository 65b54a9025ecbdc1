/**
 * This machine's file system as a {@link Storage}: the only module set (with `cli/stdout-file.ts`) that imports
 * `node:fs`. Every rejection is a `VhdError` from the errno mapping (`fs-error.ts`).
 */
import { constants } from "node:fs";
import { chmod, link, lstat, mkdir, open, readdir, rename, rmdir, unlink } from "node:fs/promises";
import * as path from "node:path";
import type { ErrorParameter } from "../../errors";
import { publishNoClobber, type NamePrimitives } from "../no-clobber-publish";
import { entryKind } from "../facts";
import type { CreateOptions, OpenOptions, Storage } from "../port";
import { sha256ByReading } from "../sha256-stream";
import { fingerprintFile } from "./fingerprint";
import { vhdErrorFromFs } from "./fs-error";
import { NodeFile } from "./node-file";
import { pathFacts, volumeFacts } from "./volume";

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
    // Best effort where the file system does not support it; the data itself is already synced.
  } finally {
    await handle.close();
  }
}

const localNames: NamePrimitives = {
  link: (existingPath, newPath) => link(existingPath, newPath),
  async claim(claimPath) {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    await (await open(claimPath, flags, 0o644)).close();
  },
  rename: (sourcePath, targetPath) => rename(sourcePath, targetPath),
  unlink: (target) => unlink(target),
  isSymbolicLink: async (target) => (await lstat(target).catch(() => undefined))?.isSymbolicLink() ?? false,
  syncFolder,
  dirname: (target) => path.dirname(target),
  toVhdError: vhdErrorFromFs,
};

/** Runs a `node:fs` call, mapping its failure to the table, naming `target`, `parameter` and what it did. */
async function mapped<T>(call: Promise<T>, target: string, parameter: ErrorParameter | undefined, action: string): Promise<T> {
  return call.catch((error: unknown) => {
    throw vhdErrorFromFs(error, { parameter, path: target, action });
  });
}

/** This machine's storage. */
export const localStorage: Storage = {
  host: undefined,
  pathFlavour: process.platform === "win32" ? "win32" : "posix",
  describe: (target) => target,
  open: (target: string, options: OpenOptions = {}) => NodeFile.open(target, options),
  createExclusive: (target: string, options: CreateOptions = {}) => NodeFile.createExclusive(target, options),
  publishNoClobber: (temporaryPath, targetPath, parameter) => publishNoClobber(localNames, temporaryPath, targetPath, parameter),
  replace: (sourcePath, targetPath, parameter) =>
    mapped(rename(sourcePath, targetPath), targetPath, parameter, `replace the file with ${sourcePath}`),
  unlink: (target, parameter) => mapped(unlink(target), target, parameter, "remove the file"),
  mkdir: (target, parameter) => mapped(mkdir(target), target, parameter, "create the folder"),
  rmdir: (target, parameter) => mapped(rmdir(target), target, parameter, "remove the folder"),
  // Node fills in a type the file system leaves unknown with `lstat`.
  list: (folder, parameter) =>
    mapped(
      readdir(folder, { withFileTypes: true }).then((entries) => entries.map((entry) => ({ name: entry.name, kind: entryKind(entry) }))),
      folder,
      parameter,
      "list the folder",
    ),
  chmod: (target, mode, parameter) => mapped(chmod(target, mode), target, parameter, "change the file's permissions"),
  pathFacts,
  fingerprint: fingerprintFile,
  volumeFacts,
  sha256: (target, options) => sha256ByReading(localStorage, target, options),
  syncFolder,
};
