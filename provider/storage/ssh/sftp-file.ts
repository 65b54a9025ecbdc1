/**
 * A {@link RandomAccessFile} over an SFTP file handle. Reads and writes are split into requests no larger than
 * OpenSSH's limits (255 KiB of data per READ/WRITE: PROTOCOL §4.8 limits@openssh.com) and kept several in flight
 * at once, because ssh2 sends the pieces of one large call one after another and throughput is in-flight bytes
 * divided by the round trip. `sync` is fsync@openssh.com (PROTOCOL §4.6).
 */
import type { SFTPWrapper } from "ssh2";
import type { ErrorParameter } from "../../errors";
import { fileCutError, writeEachInTurn, type RandomAccessFile } from "../random-access-file";
import { pipelined } from "../../support/pipelined";
import type { SshSession } from "./session-pool";
import { SFTP_STATUS, isUnsupportedExtension, vhdErrorFromSsh, type SshErrorContext } from "./ssh-errors";

/** Bytes per READ/WRITE request: OpenSSH's advertised maximum data length (261120 = 255 KiB). */
export const SFTP_CHUNK = 261120;
/** Requests kept in flight per call: 16 x 255 KiB was the fastest setting measured for ssh2 (docs/remote-hosts.md §1). */
export const SFTP_WINDOW = 16;
/** How long (ms) a close may take: ssh2 never answers a close on a dead channel (docs/remote-hosts.md §1). */
const CLOSE_TIMEOUT_MS = 5000;

/**
 * What an SFTP FAILURE (4) of a write-side call meant, found by asking the volume (statvfs@openssh.com, PROTOCOL
 * §4.4): the status hides ENOSPC, EDQUOT and EROFS alike. Undefined when the volume explains nothing.
 */
export async function volumeFailureCause(
  session: SshSession,
  error: unknown,
  sftpFolder: string,
): Promise<SshErrorContext["onFailure"]> {
  if ((error as { code?: unknown } | null)?.code !== SFTP_STATUS.FAILURE || !session.alive) return undefined;
  // Tracked like every request: after the failed write's own tracking ended, nothing else may hold the process, and
  // an untracked request on the unref'd socket let it exit with status 0 before the answer came.
  const facts = await session
    .track(
      () =>
        new Promise<{ f_bavail: number | bigint; f_flag: number | bigint } | undefined>((resolve) => {
          try {
            session.sftp.ext_openssh_statvfs(sftpFolder, (statError, info) => resolve(statError ? undefined : info));
          } catch {
            resolve(undefined);
          }
        }),
    )
    .catch(() => undefined);
  if (facts === undefined) return undefined;
  if ((BigInt(facts.f_flag) & 1n) === 1n) return { code: "ERROR_INVALID_DRIVE", advice: "the remote file system is read-only" };
  if (BigInt(facts.f_bavail) === 0n) return { code: "ERROR_DISK_FULL", advice: "the remote volume is full; free some space and retry" };
  return undefined;
}

/** An open remote file. Construct through `SshStorage.open`/`createExclusive`. */
export class SftpFile implements RandomAccessFile {
  private closed = false;

  private readonly session: SshSession;
  private readonly handle: Buffer;
  /** The path in SFTP form (`/C:/VMs/a.vhd` on Windows hosts). */
  private readonly sftpPath: string;
  /** The identity URL used in errors: `ssh://user@host:port/abs/path`. */
  private readonly url: string;
  private currentSize: number;
  private readonly findIdentity: () => Promise<string>;
  private knownIdentity: Promise<string> | undefined;
  /** The file's first bytes, read with the open of a read-only file (`OpenOptions.readAhead`): reads within them. */
  private readonly head: Uint8Array | undefined;
  readonly path: string;
  readonly parameter?: ErrorParameter;

  constructor(init: {
    session: SshSession;
    handle: Buffer;
    /** The path as the caller gave it (a drive path on Windows hosts). */
    path: string;
    sftpPath: string;
    url: string;
    /** Finds the file's identity, once, when it is first asked for (a remote command: see `identity`). */
    identity: () => Promise<string>;
    size: number;
    /** The file's first bytes, already read; only for a file nobody writes through this handle. */
    head?: Uint8Array;
    parameter?: ErrorParameter;
  }) {
    this.session = init.session;
    this.handle = init.handle;
    this.path = init.path;
    this.sftpPath = init.sftpPath;
    this.url = init.url;
    this.findIdentity = init.identity;
    this.currentSize = init.size;
    this.head = init.head;
    if (init.parameter !== undefined) this.parameter = init.parameter;
  }

  /** Found on the first call (a failure is not kept: the next call asks again). */
  identity(): Promise<string> {
    this.knownIdentity ??= this.findIdentity().catch((error: unknown) => {
      this.knownIdentity = undefined;
      throw error;
    });
    return this.knownIdentity;
  }

  get size(): number {
    return this.currentSize;
  }

  private get sftp(): SFTPWrapper {
    return this.session.sftp;
  }

  private context(action: string, extra: Partial<SshErrorContext> = {}): SshErrorContext {
    return {
      hostLabel: this.session.hostLabel,
      ...(this.parameter === undefined ? {} : { parameter: this.parameter }),
      path: this.url,
      action,
      secrets: this.session.secrets,
      ...extra,
    };
  }

  /** Reads the pieces in parallel; an EOF status or a short read past the end leaves zeros, as the interface says. */
  async read(position: number, length: number, target?: Uint8Array, targetOffset = 0): Promise<Uint8Array> {
    const out = target ?? new Uint8Array(length);
    if (this.head !== undefined && position + length <= this.head.length) {
      out.set(this.head.subarray(position, position + length), targetOffset);
      return out;
    }
    const view = Buffer.from(out.buffer, out.byteOffset + targetOffset, length);
    view.fill(0);
    const pieces = Math.ceil(length / SFTP_CHUNK);
    // Where the file was found to end, if before `length`; before the size it had, the file was cut under us.
    let endedAt = position + length;
    try {
      await this.session.track(() =>
        pipelined(pieces, SFTP_WINDOW, async (index) => {
          let done = index * SFTP_CHUNK;
          const end = Math.min(length, done + SFTP_CHUNK);
          // A server may return fewer bytes than asked (draft-ietf-secsh-filexfer-02 §6.4): ask again for the rest.
          while (done < end) {
            const got = await this.readOnce(view, done, end - done, position + done);
            if (got === 0) {
              endedAt = Math.min(endedAt, position + done);
              return;
            }
            done += got;
          }
        }),
      );
    } catch (error) {
      throw vhdErrorFromSsh(error, {
        ...this.context("read the file"),
        onFailure: { code: "ERROR_VHD_METADATA_READ_FAILURE", advice: "the server failed to read the file" },
      });
    }
    if (endedAt < Math.min(position + length, this.currentSize)) {
      const cut = { position, length, endedAt, sizeWhenOpened: this.currentSize };
      throw fileCutError({ path: this.url, parameter: this.parameter }, cut, `${this.session.hostLabel}: `);
    }
    return out;
  }

  private readOnce(view: Buffer, offset: number, length: number, position: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.sftp.read(this.handle, view, offset, length, position, (error, bytesRead) => {
        if (error && (error as { code?: unknown }).code === SFTP_STATUS.EOF) resolve(0);
        else if (error) reject(error);
        else resolve(bytesRead);
      });
    });
  }

  async write(position: number, bytes: Uint8Array): Promise<void> {
    const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const pieces = Math.ceil(source.length / SFTP_CHUNK);
    try {
      await this.session.track(() =>
        pipelined(pieces, SFTP_WINDOW, (index) => {
          const offset = index * SFTP_CHUNK;
          const length = Math.min(SFTP_CHUNK, source.length - offset);
          return new Promise<void>((resolve, reject) =>
            this.sftp.write(this.handle, source, offset, length, position + offset, (error) => (error ? reject(error) : resolve())),
          );
        }),
      );
    } catch (error) {
      throw await this.writeError(error, "write the file");
    }
    this.currentSize = Math.max(this.currentSize, position + source.length);
  }

  writeGathered(position: number, chunks: readonly Uint8Array[]): Promise<void> {
    return writeEachInTurn((at, bytes) => this.write(at, bytes), position, chunks);
  }

  async truncate(size: number): Promise<void> {
    try {
      await this.session.track(
        () => new Promise<void>((resolve, reject) => this.sftp.fsetstat(this.handle, { size }, (error) => (error ? reject(error) : resolve()))),
      );
    } catch (error) {
      throw await this.writeError(error, "change the file's size");
    }
    this.currentSize = size;
  }

  /**
   * fsync@openssh.com on the handle. A server without the extension (ssh2 then throws synchronously) gives no way to
   * flush a file; the close that follows still hands the data to the host's OS, so the sync is skipped there.
   */
  async sync(): Promise<void> {
    try {
      await this.session.track(
        () =>
          new Promise<void>((resolve, reject) => {
            try {
              this.sftp.ext_openssh_fsync(this.handle, (error) => (error ? reject(error) : resolve()));
            } catch (error) {
              if (isUnsupportedExtension(error)) resolve();
              else reject(error);
            }
          }),
      );
    } catch (error) {
      throw await this.writeError(error, "flush the file to disk (fsync@openssh.com)");
    }
  }

  /** Closes the handle; a dead connection (whose close never answers) counts as closed. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.session.alive) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.session.track(
          () => new Promise<void>((resolve, reject) => this.sftp.close(this.handle, (error) => (error ? reject(error) : resolve()))),
        ),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
          timer.unref();
        }),
      ]);
    } catch (error) {
      // close(2) reports deferred write errors (NFS, quota): the server passes its errno on (sftp-server.c process_close).
      throw await this.writeError(error, "close the file");
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Maps a write-side FAILURE (4), which hides ENOSPC, EDQUOT and EROFS, by asking the volume: no free space is
   * `ERROR_DISK_FULL`, a read-only volume `ERROR_INVALID_DRIVE`.
   */
  private async writeError(error: unknown, action: string): Promise<Error> {
    const folder = this.sftpPath.slice(0, this.sftpPath.lastIndexOf("/")) || "/";
    const onFailure = await volumeFailureCause(this.session, error, folder);
    return vhdErrorFromSsh(error, { ...this.context(action), ...(onFailure === undefined ? {} : { onFailure }) });
  }
}
