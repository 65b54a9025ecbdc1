/**
 * A {@link Storage} held in memory: folders, files and symbolic links in a map, POSIX paths, errno-style failures
 * mapped through the same table as the local adapter's. Tests choose its faults without mocking the file system module: a write
 * that fails with ENOSPC or EIO (after applying part of it, as a short write does), a file system without hard links,
 * a file replaced between two calls; and they read its counters of opens and reads per path.
 */
import * as path from "node:path";
import type { ErrorParameter } from "../../errors";
import { maxFileSizeOf, type FileFingerprint, type FileSystemType, type FolderEntry, type PathFacts, type VolumeFacts, type VolumeFactsOptions } from "../facts";
import { vhdErrorFromFs } from "../local/fs-error";
import { publishNoClobber, type NamePrimitives } from "../no-clobber-publish";
import { OPEN_ACTION, type CreateOptions, type OpenOptions, type Storage } from "../port";
import type { RandomAccessFile } from "../random-access-file";
import { sha256ByReading, type Sha256Options, type Sha256Result } from "../sha256-stream";
import { MemoryFile, newInode, nextTimeNs, type MemoryFileEvents, type MemoryInode } from "./memory-file";

type Entry = { kind: "file"; inode: MemoryInode } | { kind: "folder"; mode: number } | { kind: "symlink"; target: string };

/** The storage calls a hook sees, by name. */
export type MemoryOperation = Exclude<keyof Storage, "host" | "pathFlavour" | "describe">;

/** A write fault: the errno it fails with, after applying `tornBytes` of the write (default 0). */
export interface WriteFault {
  errno: "ENOSPC" | "EIO" | "EDQUOT" | "EFBIG";
  tornBytes?: number;
}

/** Options of {@link MemoryStorage}. */
export interface MemoryStorageOptions {
  /** False: `link` fails with EPERM, as on FAT or SMB, so a publish claims the name and renames over it. */
  hardLinks?: boolean;
  /** What `volumeFacts` reports (default 1 TiB free, `ext`). */
  freeBytes?: number;
  fsType?: FileSystemType;
}

/** Opens and reads of one path, as counted by {@link MemoryStorage.counts}. */
export interface AccessCounts {
  opens: number;
  reads: number;
}

function errno(code: string, call: string, target: string): Error {
  return Object.assign(new Error(`${code}: ${call} '${target}'`), { code });
}

/** A storage in memory. Every path is absolute POSIX; `/` exists from the start. */
export class MemoryStorage implements Storage {
  readonly pathFlavour = "posix" as const;

  /** Paths in memory are named as they are. */
  describe(target: string): string {
    return target;
  }
  private readonly entries = new Map<string, Entry>([["/", { kind: "folder", mode: 0o755 }]]);
  private readonly hardLinks: boolean;
  private readonly freeBytes: number;
  private readonly fsType: FileSystemType;
  private readonly writeFaults = new Map<number, WriteFault>();
  private readonly hooks: ((operation: MemoryOperation, target: string) => void | Promise<void>)[] = [];
  private readonly accessCounts = new Map<string, AccessCounts>();
  private writesSeen = 0;

  constructor(options: MemoryStorageOptions = {}) {
    this.hardLinks = options.hardLinks ?? true;
    this.freeBytes = options.freeBytes ?? 2 ** 40;
    this.fsType = options.fsType ?? "ext";
  }

  // ----- set-up and inspection for tests -----

  /** Creates `folder` and every folder above it. */
  addFolder(folder: string): this {
    const parts = path.posix.resolve(folder).split("/").filter((part) => part !== "");
    for (let index = 1; index <= parts.length; index++) {
      const each = `/${parts.slice(0, index).join("/")}`;
      if (!this.entries.has(each)) this.entries.set(each, { kind: "folder", mode: 0o755 });
    }
    return this;
  }

  /** Puts a file holding `bytes` at `target` (its folder created), replacing whatever was there. */
  addFile(target: string, bytes: Uint8Array, mode = 0o644): this {
    this.addFolder(path.posix.dirname(target));
    this.entries.set(path.posix.resolve(target), { kind: "file", inode: newInode(bytes, mode) });
    return this;
  }

  /** Puts a symbolic link to `linkTarget` at `target`. */
  addSymlink(target: string, linkTarget: string): this {
    this.addFolder(path.posix.dirname(target));
    this.entries.set(path.posix.resolve(target), { kind: "symlink", target: linkTarget });
    return this;
  }

  /**
   * Sets the modification time (ns) of the file at `target` (links followed) and leaves its change time alone, as
   * `touch -r` does: how a test puts an edited file's mtime back.
   */
  setModified(target: string, mtimeNs: bigint): this {
    const found = this.lookup(target, true);
    if (!("entry" in found) || found.entry.kind !== "file") throw new Error(`no file at ${target}`);
    found.entry.inode.mtimeNs = mtimeNs;
    return this;
  }

  /** The bytes of the file at `target` (links followed), or undefined when there is none. */
  fileBytes(target: string): Uint8Array | undefined {
    const found = this.lookup(target, true);
    return "entry" in found && found.entry.kind === "file" ? found.entry.inode.data : undefined;
  }

  /** Every path held, sorted: what a test compares to prove nothing was left behind. */
  paths(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** Writes and truncations so far, over every file. */
  get writes(): number {
    return this.writesSeen;
  }

  /** Makes the `nth` write from now (1-based, over every file) fail with `fault`. */
  failWrite(nth: number, fault: WriteFault): this {
    this.writeFaults.set(this.writesSeen + nth, fault);
    return this;
  }

  /** Runs `hook` before every storage call (to replace a file between two of them, say). */
  beforeCall(hook: (operation: MemoryOperation, target: string) => void | Promise<void>): this {
    this.hooks.push(hook);
    return this;
  }

  /** Opens and reads of `target` (as the caller named it) so far. */
  counts(target: string): AccessCounts {
    return { ...(this.accessCounts.get(path.posix.resolve(target)) ?? { opens: 0, reads: 0 }) };
  }

  // ----- the port -----

  async open(target: string, options: OpenOptions = {}): Promise<RandomAccessFile> {
    await this.called("open", target);
    const action = options.action ?? OPEN_ACTION;
    const entry = this.existing(target, true, options.parameter, action);
    if (entry.kind === "folder") throw vhdErrorFromFs(errno("EISDIR", "open", target), { parameter: options.parameter, path: target, action });
    if (entry.kind !== "file") throw vhdErrorFromFs(errno("ELOOP", "open", target), { parameter: options.parameter, path: target, action });
    this.count(target).opens++;
    return this.fileOf(target, entry.inode, options.parameter, options.writable ?? false);
  }

  async createExclusive(target: string, options: CreateOptions = {}): Promise<RandomAccessFile> {
    await this.called("createExclusive", target);
    const inode = this.create(target, options.mode ?? 0o644, options.parameter);
    this.count(target).opens++;
    return this.fileOf(target, inode, options.parameter, true);
  }

  async publishNoClobber(temporaryPath: string, targetPath: string, parameter?: ErrorParameter): Promise<void> {
    await this.called("publishNoClobber", targetPath);
    await publishNoClobber(this.names, temporaryPath, targetPath, parameter);
  }

  async replace(sourcePath: string, targetPath: string, parameter?: ErrorParameter): Promise<void> {
    await this.called("replace", targetPath);
    this.mapped(() => this.rename(sourcePath, targetPath), targetPath, parameter, `replace the file with ${sourcePath}`);
  }

  async unlink(target: string, parameter?: ErrorParameter): Promise<void> {
    await this.called("unlink", target);
    this.mapped(() => this.remove(target, "file"), target, parameter, "remove the file");
  }

  async mkdir(target: string, parameter?: ErrorParameter): Promise<void> {
    await this.called("mkdir", target);
    this.mapped(
      () => {
        this.parentFolder(target, "mkdir");
        if (this.entries.has(path.posix.resolve(target))) throw errno("EEXIST", "mkdir", target);
        this.entries.set(path.posix.resolve(target), { kind: "folder", mode: 0o755 });
      },
      target,
      parameter,
      "create the folder",
    );
  }

  async rmdir(target: string, parameter?: ErrorParameter): Promise<void> {
    await this.called("rmdir", target);
    this.mapped(() => this.remove(target, "folder"), target, parameter, "remove the folder");
  }

  async list(folder: string, parameter?: ErrorParameter): Promise<FolderEntry[]> {
    await this.called("list", folder);
    const entry = this.existing(folder, true, parameter, "list the folder");
    if (entry.kind !== "folder") throw vhdErrorFromFs(errno("ENOTDIR", "scandir", folder), { parameter, path: folder, action: "list the folder" });
    const resolved = this.resolved(folder);
    return [...this.entries]
      .filter(([each]) => each !== resolved && path.posix.dirname(each) === resolved)
      .map(([each, { kind }]) => ({ name: path.posix.basename(each), kind }));
  }

  async chmod(target: string, mode: number, parameter?: ErrorParameter): Promise<void> {
    await this.called("chmod", target);
    const entry = this.existing(target, true, parameter, "change the file's permissions");
    if (entry.kind === "file") {
      entry.inode.mode = mode;
      entry.inode.ctimeNs = nextTimeNs();
    } else if (entry.kind === "folder") {
      entry.mode = mode;
    }
  }

  async pathFacts(target: string, options: { followLinks?: boolean } = {}): Promise<PathFacts> {
    await this.called("pathFacts", target);
    const found = this.lookup(target, options.followLinks ?? false);
    if (!("entry" in found)) return { kind: found.problem === "ENOTDIR" ? "through-file" : "missing", size: 0, mode: 0 };
    const { entry } = found;
    if (entry.kind === "file") {
      return { kind: "file", size: entry.inode.data.length, mode: entry.inode.mode, modifiedMs: Number(entry.inode.mtimeNs / 1_000_000n) };
    }
    if (entry.kind === "folder") return { kind: "folder", size: 0, mode: entry.mode };
    return { kind: "symlink", size: 0, mode: 0o777 };
  }

  async fingerprint(target: string, parameter?: ErrorParameter): Promise<FileFingerprint> {
    await this.called("fingerprint", target);
    const entry = this.existing(target, true, parameter, "look at the file");
    const inode = entry.kind === "file" ? entry.inode : { ino: 0, data: new Uint8Array(), mtimeNs: 0n, ctimeNs: 0n };
    return { dev: "0", ino: `${inode.ino}`, size: inode.data.length, mtimeNs: `${inode.mtimeNs}`, ctimeNs: `${inode.ctimeNs}` };
  }

  async volumeFacts(asked: string, options: VolumeFactsOptions = {}): Promise<VolumeFacts> {
    await this.called("volumeFacts", asked);
    let folder = this.resolved(asked);
    const isFolder = (at: string): boolean => {
      const found = this.lookup(at, true);
      return "entry" in found && found.entry.kind === "folder";
    };
    while (options.nearestExisting && folder !== path.posix.dirname(folder) && !isFolder(folder)) folder = path.posix.dirname(folder);
    this.existing(folder, true, undefined, "read the volume's free space and type");
    const fsType = options.assumeFsType ?? this.fsType;
    return { folder, freeBytes: this.freeBytes, fsType, fsMagic: 0, readOnly: false, writable: true, maxFileSize: maxFileSizeOf(fsType) };
  }

  sha256(target: string, options?: Sha256Options): Promise<Sha256Result> {
    return sha256ByReading(this, target, options);
  }

  async syncFolder(folder: string): Promise<void> {
    await this.called("syncFolder", folder);
  }

  // ----- inside -----

  private readonly names: NamePrimitives = {
    link: async (existingPath, newPath) => {
      if (!this.hardLinks) throw errno("EPERM", "link", newPath);
      const source = this.lookup(existingPath, false);
      if (!("entry" in source) || source.entry.kind !== "file") throw errno("ENOENT", "link", existingPath);
      this.parentFolder(newPath, "link");
      if (this.entries.has(this.resolved(newPath))) throw errno("EEXIST", "link", newPath);
      this.entries.set(this.resolved(newPath), source.entry);
    },
    claim: async (target) => {
      this.create(target, 0o644, undefined);
    },
    rename: async (sourcePath, targetPath) => this.rename(sourcePath, targetPath),
    unlink: async (target) => this.remove(target, "file"),
    isSymbolicLink: async (target) => this.entries.get(this.resolved(target))?.kind === "symlink",
    syncFolder: async () => undefined,
    dirname: (target) => path.posix.dirname(target),
    toVhdError: vhdErrorFromFs,
  };

  private readonly events: MemoryFileEvents = {
    onRead: (file) => {
      this.count(file.path).reads++;
    },
    beforeChange: (file, length) => {
      this.writesSeen++;
      const fault = this.writeFaults.get(this.writesSeen);
      if (fault === undefined) return { applied: length };
      // The table's error, as the local adapter's writes report it.
      const error = (): Error =>
        vhdErrorFromFs(errno(fault.errno, "write", file.path), { parameter: file.parameter, path: file.path, action: `write ${length} bytes` });
      return { applied: Math.min(fault.tornBytes ?? 0, length), fault: error };
    },
  };

  private fileOf(target: string, inode: MemoryInode, parameter: ErrorParameter | undefined, writable: boolean): MemoryFile {
    return new MemoryFile(target, inode, { parameter, writable, events: this.events });
  }

  private async called(operation: MemoryOperation, target: string): Promise<void> {
    for (const hook of this.hooks) await hook(operation, target);
  }

  private count(target: string): AccessCounts {
    const key = this.resolved(target);
    let counts = this.accessCounts.get(key);
    if (counts === undefined) this.accessCounts.set(key, (counts = { opens: 0, reads: 0 }));
    return counts;
  }

  private resolved(target: string): string {
    return path.posix.resolve(target);
  }

  /** The entry at `target`, following links in every component (and in the last one when `followLast`). */
  private lookup(target: string, followLast: boolean, depth = 0): { entry: Entry; resolved: string } | { problem: "ENOENT" | "ENOTDIR" | "ELOOP" } {
    if (depth > 40) return { problem: "ELOOP" };
    const parts = this.resolved(target).split("/").filter((part) => part !== "");
    let current = "/";
    for (const [index, part] of parts.entries()) {
      const here = this.entries.get(current);
      if (here?.kind !== "folder") return { problem: here === undefined ? "ENOENT" : "ENOTDIR" };
      const next = path.posix.join(current, part);
      const entry = this.entries.get(next);
      if (entry === undefined) return { problem: "ENOENT" };
      const last = index === parts.length - 1;
      if (entry.kind === "symlink" && (!last || followLast)) {
        const rest = parts.slice(index + 1).join("/");
        const linked = path.posix.resolve(current, entry.target, rest);
        return this.lookup(linked, followLast, depth + 1);
      }
      current = next;
    }
    const entry = this.entries.get(current);
    return entry === undefined ? { problem: "ENOENT" } : { entry, resolved: current };
  }

  private existing(target: string, follow: boolean, parameter: ErrorParameter | undefined, action: string): Entry {
    const found = this.lookup(target, follow);
    if ("entry" in found) return found.entry;
    throw vhdErrorFromFs(errno(found.problem, "stat", target), { parameter, path: target, action });
  }

  /** Checks that `target`'s folder exists and is one. */
  private parentFolder(target: string, call: string): void {
    const folder = this.lookup(path.posix.dirname(this.resolved(target)), true);
    if (!("entry" in folder)) throw errno(folder.problem, call, target);
    if (folder.entry.kind !== "folder") throw errno("ENOTDIR", call, target);
  }

  private create(target: string, mode: number, parameter: ErrorParameter | undefined): MemoryInode {
    return this.mapped(
      () => {
        this.parentFolder(target, "open");
        if (this.entries.has(this.resolved(target))) throw errno("EEXIST", "open", target);
        const inode = newInode(new Uint8Array(), mode);
        this.entries.set(this.resolved(target), { kind: "file", inode });
        return inode;
      },
      target,
      parameter,
      `create the file ${target}`,
    );
  }

  private rename(sourcePath: string, targetPath: string): void {
    const source = this.entries.get(this.resolved(sourcePath));
    if (source === undefined) throw errno("ENOENT", "rename", sourcePath);
    this.parentFolder(targetPath, "rename");
    this.entries.delete(this.resolved(sourcePath));
    this.entries.set(this.resolved(targetPath), source);
  }

  private remove(target: string, kind: "file" | "folder"): void {
    const key = this.resolved(target);
    const entry = this.entries.get(key);
    if (entry === undefined) throw errno("ENOENT", kind === "file" ? "unlink" : "rmdir", target);
    if (kind === "file" && entry.kind === "folder") throw errno("EISDIR", "unlink", target);
    if (kind === "folder") {
      if (entry.kind !== "folder") throw errno("ENOTDIR", "rmdir", target);
      if ([...this.entries.keys()].some((each) => each !== key && path.posix.dirname(each) === key)) {
        throw errno("ENOTEMPTY", "rmdir", target);
      }
    }
    this.entries.delete(key);
  }

  private mapped<T>(call: () => T, target: string, parameter: ErrorParameter | undefined, action: string): T {
    try {
      return call();
    } catch (error) {
      throw vhdErrorFromFs(error, { parameter, path: target, action });
    }
  }
}
