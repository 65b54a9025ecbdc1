/**
 * The storage port on a remote host: SFTP v3 with OpenSSH's extensions for files (hardlink@, fsync@, statvfs@,
 * posix-rename@: OpenSSH PROTOCOL §4), and commands over an exec channel for what SFTP cannot give: a nanosecond
 * fingerprint with device and inode (GNU `stat`), the file-system type (`stat -f`), write permission (`test -w`) and
 * the SHA-256 computed on the host (`openssl dgst`, `sha256sum`, PowerShell `Get-FileHash`). A host without those
 * tools still works over SFTP alone, with the weaker fallbacks each method names.
 *
 * Paths are the host's own: absolute POSIX paths, or drive paths (`C:\VMs\a.vhd`) with `pathFlavour: "win32"`, sent
 * in Win32-OpenSSH's SFTP form (`/C:/VMs/a.vhd`). Errors name the file as `ssh://user@host:port/abs/path`.
 *
 * Limits inherited from SFTP (docs/remote-hosts.md §1): the server opens paths with plain open(2), so a symbolic link in
 * a folder above the file is followed (keep disks in a folder only the SSH user can write); `createExclusive` still
 * refuses a link (dangling or not) as the last component, because O_EXCL never follows one.
 */
import { posix } from "node:path";
import type { SFTPWrapper, Stats } from "ssh2";
import { VhdError, type ErrorParameter } from "../../errors";
import { throwIfCancelled } from "../../support/cancellation";
import { entryKind, fileIdentity, fsTypeOfStatfsMagic, maxFileSizeOf } from "../facts";
import { sha256ByReading } from "../sha256-stream";
import type {
  CreateOptions,
  FileFingerprint,
  FolderEntry,
  OpenOptions,
  PathFacts,
  PathFlavour,
  RandomAccessFile,
  Sha256Options,
  Sha256Result,
  Storage,
  VolumeFacts,
  VolumeFactsOptions,
} from "../port";
import type { ConnectionArgs } from "./connection-args";
import {
  PROBE_COMMAND,
  commandCarries,
  fingerprintQuestion,
  parseFingerprint,
  parseProbe,
  parseSha256Output,
  parseVolumeAnswer,
  powershellCommand,
  sha256Command,
  volumeCommand,
  volumeQuestion,
  windowsSha256Script,
  type HostTools,
} from "./remote-shell";
import { connectionTarget, getSession, type ExecResult, type SessionOptions, type SshSession } from "./session-pool";
import { SftpFile, volumeFailureCause } from "./sftp-file";
import { statShellIfOpen, statShellOf } from "./stat-shell";
import { SFTP_STATUS, isConnectionLoss, vhdErrorFromSsh, type SshErrorContext } from "./ssh-errors";
import { formatSshUrl, isSshUrl } from "./ssh-url";
import { isWindowsDrivePath, sftpToWindowsPath, windowsToSftpPath } from "./windows-paths";

/** SSH_FXF_* open flags (draft-ietf-secsh-filexfer-02 §6.3). */
const FXF = { READ: 0x01, WRITE: 0x02, CREAT: 0x08, EXCL: 0x20 } as const;

/** What statvfs@openssh.com answers, of what `volumeFacts` uses. */
type StatvfsInfo = { f_bavail: number | bigint; f_frsize: number | bigint; f_flag: number | bigint };

/** `folder` and every folder above it, nearest first (`/a/b` -> `/a/b`, `/a`, `/`). */
function foldersUpFrom(folder: string): string[] {
  const folders = [folder];
  for (let above = posix.dirname(folder); above !== folders[folders.length - 1]; above = posix.dirname(above)) folders.push(above);
  return folders;
}

/** Each connection's tools, probed on its first helper command. */
const probedTools = new WeakMap<SshSession, Promise<HostTools>>();

/** Options of {@link SshStorage}. */
export interface SshStorageOptions {
  /** The host's path rules (default `posix`); `win32` for Win32-OpenSSH hosts. */
  pathFlavour?: PathFlavour;
}

/** The storage port over SSH. Connects lazily, through the shared session pool. */
export class SshStorage implements Storage {
  readonly host: string;
  readonly pathFlavour: PathFlavour;
  private readonly user: string;
  private readonly hostName: string;
  private readonly port: number;

  constructor(
    private readonly connection: ConnectionArgs,
    options: SshStorageOptions = {},
  ) {
    const target = connectionTarget(connection);
    this.host = target.hostLabel;
    this.user = target.user;
    this.hostName = target.host;
    this.port = target.port;
    this.pathFlavour = options.pathFlavour ?? "posix";
  }

  /** The shared session (dialling if needed); its host key fingerprint is `hostKeyFingerprint`. */
  session(options?: SessionOptions): Promise<SshSession> {
    return getSession(this.connection, options);
  }

  /**
   * What the host offers beyond SFTP, probed once per connection (not per storage: the resource makes a storage per
   * call, all sharing the pool's connection). A Windows host is never probed: its shell is cmd.exe.
   */
  private async hostTools(session: SshSession): Promise<HostTools> {
    if (this.pathFlavour === "win32") return parseProbe("");
    let tools = probedTools.get(session);
    if (tools === undefined) {
      tools = session.exec(PROBE_COMMAND).then(
        (result) => parseProbe(result.stdout.toString("utf8")),
        () => parseProbe(""),
      );
      probedTools.set(session, tools);
    }
    return tools;
  }

  /**
   * Runs a helper command; undefined when the host would not run it (no exec channel free under a low MaxSessions,
   * a ForceCommand, a restricted shell), so the caller takes its SFTP-only path. A lost connection still rejects.
   */
  private async tryExec(session: SshSession, sftpPath: string, command: string, parameter?: ErrorParameter, signal?: AbortSignal): Promise<ExecResult | undefined> {
    try {
      return await session.exec(command, signal);
    } catch (error) {
      if (session.alive && !isConnectionLoss(error)) return undefined;
      throw vhdErrorFromSsh(error, this.context(session, sftpPath, "run a command on the host", parameter));
    }
  }

  /** The path in SFTP form. @throws `ERROR_BAD_PATHNAME` for a relative path. */
  sftpPath(path: string, parameter?: ErrorParameter): string {
    if (this.pathFlavour === "win32") return windowsToSftpPath(path, parameter);
    if (!path.startsWith("/")) {
      throw new VhdError("ERROR_BAD_PATHNAME", `a path on ${this.host} must be absolute`, {
        ...(parameter === undefined ? {} : { parameter }),
        path,
      });
    }
    return path;
  }

  /** An absolute path of the host as `ssh://user@host:port/abs/path`; anything else unchanged (the port's contract). */
  describe(path: string): string {
    if (isSshUrl(path)) return path;
    const absolute = this.pathFlavour === "win32" ? isWindowsDrivePath(path) : path.startsWith("/");
    return absolute ? this.url(this.sftpPath(path)) : path;
  }

  /** `ssh://user@host:port/abs/path`: the file's name in identities and errors. */
  url(sftpPath: string): string {
    return formatSshUrl(this.user, this.hostName, this.port, sftpPath);
  }

  private context(session: SshSession, sftpPath: string, action: string, parameter?: ErrorParameter): SshErrorContext {
    return {
      hostLabel: this.host,
      ...(parameter === undefined ? {} : { parameter }),
      path: this.url(sftpPath),
      action,
      secrets: session.secrets,
    };
  }

  /**
   * Runs one SFTP request and maps its failure. `explain` says what a FAILURE (4) meant, when it can be found out.
   */
  private async request<T>(
    session: SshSession,
    sftpPath: string,
    action: string,
    parameter: ErrorParameter | undefined,
    send: (sftp: SFTPWrapper, done: (error: Error | null | undefined, value?: T) => void) => void,
    explain?: (error: unknown) => Promise<SshErrorContext["onFailure"]>,
  ): Promise<T> {
    try {
      return await session.track(
        () =>
          new Promise<T>((resolve, reject) => {
            try {
              send(session.sftp, (error, value) => (error ? reject(error) : resolve(value as T)));
            } catch (error) {
              // ssh2 throws synchronously for an extension the server did not advertise (mapped to ERROR_NOT_SUPPORTED).
              reject(error);
            }
          }),
      );
    } catch (error) {
      const onFailure = explain === undefined ? undefined : await explain(error).catch(() => undefined);
      throw vhdErrorFromSsh(error, {
        ...this.context(session, sftpPath, action, parameter),
        ...(onFailure === undefined ? {} : { onFailure }),
      });
    }
  }

  /** `lstat` (or `stat`) without mapping: undefined when nothing is there. */
  private async rawStat(session: SshSession, sftpPath: string, follow: boolean): Promise<Stats | undefined> {
    try {
      return await session.track(
        () =>
          new Promise<Stats>((resolve, reject) =>
            (follow ? session.sftp.stat : session.sftp.lstat).call(session.sftp, sftpPath, (error, stats) =>
              error ? reject(error) : resolve(stats),
            ),
          ),
      );
    } catch (error) {
      if ((error as { code?: unknown }).code === SFTP_STATUS.NO_SUCH_FILE) return undefined;
      throw error;
    }
  }

  /** Explains a FAILURE on a create-like call: something already there, else the volume (full, read-only). */
  private existsOrVolume(session: SshSession, sftpPath: string): (error: unknown) => Promise<SshErrorContext["onFailure"]> {
    return async (error) => {
      if ((error as { code?: unknown }).code !== SFTP_STATUS.FAILURE) return undefined;
      if ((await this.rawStat(session, sftpPath, false)) !== undefined) {
        return { code: "ERROR_ALREADY_EXISTS", advice: "something (a file, a folder or a symbolic link) is already there" };
      }
      return volumeFailureCause(session, error, posix.dirname(sftpPath));
    };
  }

  async open(path: string, options: OpenOptions = {}): Promise<RandomAccessFile> {
    const { parameter, writable = false } = options;
    const sftpPath = this.sftpPath(path, parameter);
    const session = await this.session();
    const handle = await this.request<Buffer>(session, sftpPath, "open the file", parameter, (sftp, done) =>
      sftp.open(sftpPath, writable ? FXF.READ | FXF.WRITE : FXF.READ, done),
    );
    const readAhead = writable ? 0 : (options.readAhead ?? 0);
    return this.wrap(session, handle, path, sftpPath, parameter, readAhead, async () => {
      const stats = await this.request<Stats>(session, sftpPath, "look at the open file", parameter, (sftp, done) => sftp.fstat(handle, done));
      if (!stats.isFile()) {
        const folder = stats.isDirectory();
        throw new VhdError(
          folder ? "ERROR_INVALID_NAME" : "ERROR_VIRTDISK_NOT_VIRTUAL_DISK",
          `${this.host}: the path is ${folder ? "a folder" : "not a regular file"}, not a disk file`,
          { ...(parameter === undefined ? {} : { parameter }), path: this.url(sftpPath) },
        );
      }
      return stats.size;
    });
  }

  /**
   * An {@link SftpFile} for a fresh handle, with its size (from `sizeOf`); the handle is closed again when that
   * cannot be found. Its identity is asked of the host only when a caller wants it (`RandomAccessFile.identity`):
   * most opens (a sibling's header, a record, the parent's footer) never compare files.
   */
  private async wrap(
    session: SshSession,
    handle: Buffer,
    path: string,
    sftpPath: string,
    parameter: ErrorParameter | undefined,
    readAhead: number,
    sizeOf: () => Promise<number>,
  ): Promise<SftpFile> {
    const make = (size: number, head?: Uint8Array): SftpFile =>
      new SftpFile({
        session,
        handle,
        path,
        sftpPath,
        url: this.url(sftpPath),
        identity: () => this.identityOf(session, sftpPath, parameter),
        size,
        ...(head === undefined ? {} : { head }),
        ...(parameter === undefined ? {} : { parameter }),
      });
    try {
      // The first bytes are asked for with the size: one round trip for both (a read past the end gives zeros).
      const [size, head] = await Promise.all([sizeOf(), readAhead > 0 ? make(0).read(0, readAhead) : undefined]);
      return make(size, head);
    } catch (error) {
      await make(0).close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * What makes two opens the same file: device:inode where GNU stat can tell (`fileIdentity`, the form every adapter
   * gives and the chain walk compares with a candidate's fingerprint; one storage is one host), else the canonical
   * path's URL (SFTP realpath), which misses only hard links.
   */
  private async identityOf(session: SshSession, sftpPath: string, parameter: ErrorParameter | undefined): Promise<string> {
    if ((await this.hostTools(session)).gnuStat) {
      return fileIdentity(await this.fingerprint(this.displayPath(sftpPath), parameter));
    }
    const real = await this.request<string>(session, sftpPath, "resolve the path", parameter, (sftp, done) =>
      sftp.realpath(sftpPath, done),
    );
    return this.url(real);
  }

  /** The path as this storage's callers write it (a drive path on Windows hosts). */
  private displayPath(sftpPath: string): string {
    return this.pathFlavour === "win32" ? sftpToWindowsPath(sftpPath) : sftpPath;
  }

  async createExclusive(path: string, options: CreateOptions = {}): Promise<RandomAccessFile> {
    const { parameter, mode = 0o644 } = options;
    const sftpPath = this.sftpPath(path, parameter);
    const session = await this.session();
    // O_CREAT|O_EXCL fails on any existing entry, a dangling symbolic link included, and never follows one
    // (open(2); OpenSSH sftp-server process_open passes the flags through unchanged).
    const handle = await this.request<Buffer>(
      session,
      sftpPath,
      "create the file",
      parameter,
      (sftp, done) => sftp.open(sftpPath, FXF.READ | FXF.WRITE | FXF.CREAT | FXF.EXCL, { mode }, done),
      this.existsOrVolume(session, sftpPath),
    );
    return this.wrap(session, handle, path, sftpPath, parameter, 0, () => Promise.resolve(0));
  }

  async publishNoClobber(temporaryPath: string, targetPath: string, parameter?: ErrorParameter): Promise<void> {
    const from = this.sftpPath(temporaryPath, parameter);
    const to = this.sftpPath(targetPath, parameter);
    const session = await this.session();
    const taken = this.existsOrVolume(session, to);
    // The folder is opened for its flush alongside the link (one round trip for both): the fsync that follows the
    // link flushes the folder as it is then, new entry included.
    const folder = this.openFolder(session, posix.dirname(to));
    try {
      // link(2) never replaces an existing entry (OpenSSH PROTOCOL §4.5).
      const linked = await this.request<void>(session, to, "publish the new file", parameter, (sftp, done) => sftp.ext_openssh_hardlink(from, to, done), taken).then(
        () => true,
        (error: unknown) => {
          // No hardlink@, or link(2) refused as on FAT and exFAT (EPERM arrives as PERMISSION_DENIED).
          if (error instanceof VhdError && (error.code === "ERROR_NOT_SUPPORTED" || error.code === "ERROR_ACCESS_DENIED")) return false;
          throw error;
        },
      );
      if (linked) {
        // The two are independent: sent together, they share their round trips.
        await Promise.all([
          this.request<void>(session, from, "remove the temporary name", parameter, (sftp, done) => sftp.unlink(from, done)),
          folder.then((dir) => this.flushFolder(dir)),
        ]);
      } else {
        await this.claimThenRename(session, from, to, parameter, taken);
        await this.flushFolder(await folder);
      }
    } finally {
      // Closed already when flushed; a failed publish closes it here.
      await folder.then((dir) => dir?.close()).catch(() => undefined);
    }
  }

  /**
   * Publishing without hard links, as fs/atomic-file.ts does locally: claim the target name with O_EXCL (which fails
   * on anything already there), then rename the finished file over that claim with posix-rename@openssh.com. Plain
   * SSH_FXP_RENAME is not used: servers differ on whether it replaces. The claim is removed again if the rename fails.
   */
  private async claimThenRename(
    session: SshSession,
    from: string,
    to: string,
    parameter: ErrorParameter | undefined,
    taken: (error: unknown) => Promise<SshErrorContext["onFailure"]>,
  ): Promise<void> {
    const claim = await this.request<Buffer>(session, to, "claim the target name", parameter, (sftp, done) =>
      sftp.open(to, FXF.WRITE | FXF.CREAT | FXF.EXCL, done),
    taken);
    await this.request<void>(session, to, "close the claim", parameter, (sftp, done) => sftp.close(claim, done));
    try {
      await this.request<void>(session, to, "publish the new file", parameter, (sftp, done) => sftp.ext_openssh_rename(from, to, done));
    } catch (error) {
      await this.request<void>(session, to, "remove the claim", parameter, (sftp, done) => sftp.unlink(to, done)).catch(() => undefined);
      throw error;
    }
  }

  async replace(sourcePath: string, targetPath: string, parameter?: ErrorParameter): Promise<void> {
    const from = this.sftpPath(sourcePath, parameter);
    const to = this.sftpPath(targetPath, parameter);
    const session = await this.session();
    // posix-rename@openssh.com is rename(2): atomic replacement (PROTOCOL §4.3). Plain RENAME would refuse.
    await this.request<void>(session, to, "replace the file", parameter, (sftp, done) => sftp.ext_openssh_rename(from, to, done), (error) =>
      volumeFailureCause(session, error, posix.dirname(to)),
    );
  }

  async unlink(path: string, parameter?: ErrorParameter): Promise<void> {
    const sftpPath = this.sftpPath(path, parameter);
    const session = await this.session();
    await this.request<void>(session, sftpPath, "remove the file", parameter, (sftp, done) => sftp.unlink(sftpPath, done), async (error) => {
      // Only a FAILURE (4) hides what went wrong; NO_SUCH_FILE and PERMISSION_DENIED say it.
      if ((error as { code?: unknown }).code !== SFTP_STATUS.FAILURE) return undefined;
      const stats = await this.rawStat(session, sftpPath, false);
      return stats?.isDirectory() ? { code: "ERROR_ACCESS_DENIED", advice: "the path is a folder, not a file" } : undefined;
    });
  }

  async mkdir(path: string, parameter?: ErrorParameter): Promise<void> {
    const sftpPath = this.sftpPath(path, parameter);
    const session = await this.session();
    await this.request<void>(session, sftpPath, "create the folder", parameter, (sftp, done) => sftp.mkdir(sftpPath, done), this.existsOrVolume(session, sftpPath));
  }

  async rmdir(path: string, parameter?: ErrorParameter): Promise<void> {
    const sftpPath = this.sftpPath(path, parameter);
    const session = await this.session();
    await this.request<void>(session, sftpPath, "remove the folder", parameter, (sftp, done) => sftp.rmdir(sftpPath, done), async (error) => {
      if ((error as { code?: unknown }).code !== SFTP_STATUS.FAILURE) return undefined;
      const names = await this.list(path, parameter).catch(() => [] as string[]);
      return names.length > 0 ? { code: "ERROR_DIR_NOT_EMPTY", advice: `the folder still holds ${names.length} entries` } : undefined;
    });
  }

  /**
   * SFTP READDIR, whose every name comes with its attributes (OpenSSH's sftp-server: `lstat`'s), so kinds cost nothing
   * more. SFTP v3 makes the attributes optional, and some servers send none or permission bits without the file type:
   * such an entry is asked about with LSTAT, and one that still has no type counts as a file. Read as "other", it
   * would be passed over by a delete's look for children, and a disk with a child deleted.
   */
  async list(folder: string, parameter?: ErrorParameter): Promise<FolderEntry[]> {
    const sftpPath = this.sftpPath(folder, parameter);
    const session = await this.session();
    const entries = await this.request<Array<{ filename: string; attrs: Stats }>>(session, sftpPath, "list the folder", parameter, (sftp, done) =>
      sftp.readdir(sftpPath, done),
    );
    // The file type bits (POSIX S_IFMT), as SFTP carries them in its permissions attribute.
    const typed = (attrs: Stats | undefined): boolean => attrs?.mode !== undefined && (attrs.mode & 0o170000) !== 0;
    const kindOf = async (name: string, attrs: Stats): Promise<FolderEntry["kind"]> => {
      if (typed(attrs)) return entryKind(attrs);
      const entryPath = posix.join(sftpPath, name);
      const stats = await this.rawStat(session, entryPath, false).catch((error: unknown) => {
        throw vhdErrorFromSsh(error, this.context(session, entryPath, "look at the folder's entry", parameter));
      });
      return stats !== undefined && typed(stats) ? entryKind(stats) : "file";
    };
    const named = entries.filter(({ filename }) => filename !== "." && filename !== "..");
    return Promise.all(named.map(async ({ filename, attrs }) => ({ name: filename, kind: await kindOf(filename, attrs) })));
  }

  async chmod(path: string, mode: number, parameter?: ErrorParameter): Promise<void> {
    const sftpPath = this.sftpPath(path, parameter);
    const session = await this.session();
    await this.request<void>(session, sftpPath, "change the file's permissions", parameter, (sftp, done) => sftp.setstat(sftpPath, { mode }, done));
  }

  async pathFacts(path: string, options: { followLinks?: boolean } = {}): Promise<PathFacts> {
    const sftpPath = this.sftpPath(path);
    const session = await this.session();
    const look = (target: string, follow: boolean): Promise<Stats | undefined> =>
      this.rawStat(session, target, follow).catch((error: unknown) => {
        throw vhdErrorFromSsh(error, this.context(session, target, "look at the path"));
      });
    // SFTP reports ENOTDIR as NO_SUCH_FILE too: a file among the folders above makes a missing path "through-file".
    // The folder above is asked with the path itself (one round trip for both, the usual answer for a new file).
    const folder = posix.dirname(sftpPath);
    const above = folder === sftpPath ? undefined : look(folder, true);
    above?.catch(() => undefined);
    const stats = await look(sftpPath, options.followLinks ?? false);
    if (stats !== undefined) {
      const mode = stats.mode & 0o7777;
      if (stats.isSymbolicLink()) return { kind: "symlink", size: 0, mode };
      if (stats.isFile()) return { kind: "file", size: stats.size, mode, modifiedMs: stats.mtime * 1000 };
      return { kind: stats.isDirectory() ? "folder" : "other", size: 0, mode };
    }
    for (let current = folder, found = await above; ; current = posix.dirname(current), found = await look(current, true)) {
      if (found !== undefined) return { kind: found.isDirectory() ? "missing" : "through-file", size: 0, mode: 0 };
      if (current === posix.dirname(current)) return { kind: "missing", size: 0, mode: 0 };
    }
  }

  /**
   * GNU `stat -L` over exec: device, inode, size and nanosecond times, as strong as the local fingerprint (a write
   * with the mtime restored still moves ctime). Without GNU stat (BusyBox, Windows) it falls back to SFTP's attributes,
   * which are weaker: `dev` is `"sftp"`, `ino` empty, times whole seconds and ctime unknown ("0"), so a same-second
   * edit with the mtime restored goes unnoticed; callers that cache checksums should re-hash such files.
   */
  async fingerprint(path: string, parameter?: ErrorParameter): Promise<FileFingerprint> {
    const sftpPath = this.sftpPath(path, parameter);
    const session = await this.session();
    if (commandCarries(sftpPath) && (await this.hostTools(session)).gnuStat) {
      // A connection lost meanwhile rejects (the session's tracking), mapped as any other request's loss.
      const question = fingerprintQuestion(sftpPath, parameter);
      const answer = await (await statShellOf(session))?.ask(question).catch((error: unknown) => {
        throw vhdErrorFromSsh(error, this.context(session, sftpPath, "read the file's fingerprint", parameter));
      });
      const parsed = answer === undefined ? undefined : parseFingerprint(answer);
      if (parsed !== undefined) return parsed;
    }
    // The SFTP stat also gives the mapped error when stat failed on the host (missing file, permission).
    const stats = await this.request<Stats>(session, sftpPath, "read the file's fingerprint", parameter, (sftp, done) =>
      sftp.stat(sftpPath, done),
    );
    return { dev: "sftp", ino: "", size: stats.size, mtimeNs: (BigInt(stats.mtime) * 1_000_000_000n).toString(), ctimeNs: "0" };
  }

  /**
   * statvfs@openssh.com for free space and the read-only flag (PROTOCOL §4.4), `stat -f` for the type and `test -w`
   * for write permission. Without statvfs@ (Win32-OpenSSH) free space is unknown and reported as `Infinity`. The
   * type and permission are asked of the connection's stat loop when one is open (stat-shell.ts: no exec channel, no
   * login shell), else of a command, which goes out as soon as the connection is authenticated, while the SFTP session
   * may still be opening; with `nearestExisting` either tries the folders up the path itself, so it needs no walk of
   * the path first.
   */
  async volumeFacts(folder: string, options: VolumeFactsOptions = {}): Promise<VolumeFacts> {
    const sftpPath = this.sftpPath(folder);
    const candidates = options.nearestExisting ? foldersUpFrom(sftpPath) : [sftpPath];
    // No probe of the host's tools first: a shell that is not POSIX, or a `stat` that is not GNU's, answers nothing
    // it parses (`test -w` is false on a read-only mount too).
    // A folder no command carries (a line break in a name) is asked of SFTP alone, as on a host without the command.
    const ask = async (folders: readonly string[]): Promise<ReturnType<typeof parseVolumeAnswer>> => {
      if (this.pathFlavour === "win32" || !folders.every(commandCarries)) return {};
      const session = await this.session({ sftp: false });
      const loop = await statShellIfOpen(session);
      const answered = await loop?.ask(volumeQuestion(folders)).catch((error: unknown) => {
        throw vhdErrorFromSsh(error, this.context(session, sftpPath, "read the file system's type and write permission"));
      });
      return parseVolumeAnswer(answered ?? (await this.tryExec(session, sftpPath, volumeCommand(folders)))?.stdout.toString("utf8") ?? "");
    };
    const [found, asked] = await Promise.all([this.session().then((session) => this.statvfsOfNearest(session, candidates)), ask(candidates)]);
    let answer = asked;
    // The command and SFTP found different folders only if the path changed between the two, or the command was not
    // sent because a folder below SFTP's had a line break: ask again for SFTP's.
    const unasked = !candidates.every(commandCarries);
    if ((answer.folderIndex !== undefined && answer.folderIndex !== found.index) || (unasked && found.index > 0)) {
      answer = await ask([candidates[found.index] ?? sftpPath]);
    }
    const { info } = found;
    const readOnly = info !== undefined && (BigInt(info.f_flag) & 1n) === 1n;
    // A host that would not run it (or a failed `stat -f`) leaves the type unknown and the folder writable.
    const fsMagic = answer.fsMagic ?? 0;
    const writable = !readOnly && (answer.writable ?? true);
    const fsType = options.assumeFsType ?? fsTypeOfStatfsMagic(fsMagic);
    return {
      folder: found.index === 0 ? folder : this.displayPath(candidates[found.index] ?? sftpPath),
      freeBytes: info === undefined ? Number.POSITIVE_INFINITY : Number(BigInt(info.f_bavail) * BigInt(info.f_frsize)),
      fsType,
      fsMagic,
      readOnly,
      writable,
      maxFileSize: maxFileSizeOf(fsType),
    };
  }

  /**
   * statvfs@ of the first of `candidates` that is a folder (each asked with its stat, in one round trip), or, for a
   * single candidate, of it as given; `info` undefined without statvfs@.
   * @throws the mapped error of the last candidate's stat (`ERROR_PATH_NOT_FOUND` when none exists).
   */
  private async statvfsOfNearest(session: SshSession, candidates: readonly string[]): Promise<{ index: number; info: StatvfsInfo | undefined }> {
    const statvfs = (sftpPath: string): Promise<StatvfsInfo | undefined> =>
      this.request<StatvfsInfo | undefined>(session, sftpPath, "read the volume's free space", undefined, (sftp, done) =>
        sftp.ext_openssh_statvfs(sftpPath, done),
      ).catch((error: unknown) => {
        if (error instanceof VhdError && error.code === "ERROR_NOT_SUPPORTED") return undefined;
        throw error;
      });
    const look = (sftpPath: string): Promise<Stats> =>
      this.request<Stats>(session, sftpPath, "look at the folder", undefined, (sftp, done) => sftp.stat(sftpPath, done));
    const [only] = candidates;
    if (candidates.length === 1 && only !== undefined) {
      const info = await statvfs(only);
      if (info === undefined) await look(only);
      return { index: 0, info };
    }
    for (const [index, candidate] of candidates.entries()) {
      const [stats, info] = await Promise.all([
        look(candidate).catch((error: unknown) => (index < candidates.length - 1 ? undefined : Promise.reject(error))),
        statvfs(candidate).catch(() => undefined),
      ]);
      if (stats?.isDirectory()) return { index, info };
    }
    throw new VhdError("ERROR_PATH_NOT_FOUND", `${this.host}: no folder exists at or above the path`, { path: this.url(candidates[0] ?? "/") });
  }

  /**
   * Hashes on the host with the fastest tool it has (no bytes cross the network), else (or with `zeroRanges`,
   * which no tool understands) streams the file over SFTP with pipelined reads. Progress is reported once at the
   * end for a hash on the host, after every batch when streaming.
   */
  async sha256(path: string, options: Sha256Options = {}): Promise<Sha256Result> {
    const { onProgress, signal, parameter = "parentPath", zeroRanges = [] } = options;
    const sftpPath = this.sftpPath(path, parameter);
    const url = this.url(sftpPath);
    throwIfCancelled(signal, { parameter, path: url });
    const command =
      zeroRanges.length > 0 ? undefined
      : this.pathFlavour === "win32" ? powershellCommand(windowsSha256Script(path))
      : commandCarries(sftpPath) ? sha256Command(sftpPath)
      : undefined;
    // The size (for progress and the result) and the hash side by side: one command, no probe of the tools before it,
    // sent as soon as the connection is authenticated (the SFTP session may still be opening).
    const [stats, result] = await Promise.all([
      this.session().then((session) =>
        this.request<Stats>(session, sftpPath, "look at the file to compute its checksum", parameter, (sftp, done) => sftp.stat(sftpPath, done)),
      ),
      command === undefined ? undefined : this.session({ sftp: false }).then((session) => this.tryExec(session, sftpPath, command, parameter, signal)),
    ]);
    throwIfCancelled(signal, { parameter, path: url });
    if (result !== undefined) {
      const digest = result.exitCode === 0 ? parseSha256Output(result.stdout.toString("utf8")) : undefined;
      if (digest !== undefined) {
        onProgress?.({ bytesDone: stats.size, bytesTotal: stats.size });
        return { sha256: digest, bytes: stats.size };
      }
      if (/permission denied/i.test(result.stderr)) {
        throw new VhdError("ERROR_ACCESS_DENIED", `${this.host}: could not read the file to compute its checksum: permission denied`, {
          parameter,
          path: url,
        });
      }
    }
    return sha256ByReading(this, path, { ...options, parameter });
  }

  /**
   * fsync of the folder: SFTP has no call for it, but OpenSSH lets a folder be opened read-only as a file and that
   * handle fsynced (docs/remote-hosts.md §1, verified with strace). Where the server refuses, a no-op, as the port allows.
   * A lost connection still rejects.
   */
  async syncFolder(path: string): Promise<void> {
    const session = await this.session();
    await this.flushFolder(await this.openFolder(session, this.sftpPath(path)));
  }

  /** The folder opened read-only for {@link flushFolder}; undefined where the server refuses. A lost connection rejects. */
  private async openFolder(session: SshSession, sftpPath: string): Promise<SftpFile | undefined> {
    const context = this.context(session, sftpPath, "flush the folder");
    const handle = await session
      .track(() => new Promise<Buffer>((resolve, reject) => session.sftp.open(sftpPath, FXF.READ, (error, value) => (error ? reject(error) : resolve(value)))))
      .catch((error: unknown) => {
        if (typeof (error as { code?: unknown }).code === "number") return undefined;
        throw vhdErrorFromSsh(error, context);
      });
    if (handle === undefined) return undefined;
    const path = this.displayPath(sftpPath);
    return new SftpFile({ session, handle, path, sftpPath, url: this.url(sftpPath), identity: () => this.identityOf(session, sftpPath, undefined), size: 0 });
  }

  /** fsync@ of a folder {@link openFolder} opened, then its close; a refused fsync is a no-op, a lost connection rejects. */
  private async flushFolder(dir: SftpFile | undefined): Promise<void> {
    if (dir === undefined) return;
    try {
      await dir.sync().catch((error: unknown) => {
        if (error instanceof VhdError && error.code !== "ERROR_NETNAME_DELETED" && error.code !== "ERROR_TIMEOUT") return;
        throw error;
      });
    } finally {
      await dir.close().catch(() => undefined);
    }
  }
}
