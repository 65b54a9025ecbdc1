/**
 * The local adapter's {@link RandomAccessFile}: positioned reads and writes on an open file through `node:fs`, with
 * errors from the one table.
 */
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { VhdError, type ErrorParameter } from "../../errors";
import { fileIdentity } from "../facts";
import { OPEN_ACTION, type OpenOptions } from "../port";
import { fileCutError, type RandomAccessFile } from "../random-access-file";
import { vhdErrorFromFs } from "./fs-error";

/** An open local file: its path, its size (grown by every write past the end), positioned reads and writes. */
export class NodeFile implements RandomAccessFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private sizeBytes: number,
    private readonly knownIdentity: string,
    readonly parameter: ErrorParameter | undefined,
  ) {}

  /**
   * Opens the existing regular file `path` for reading (or reading and writing), following symbolic links.
   * @throws the errno mapping's errors; `ERROR_INVALID_NAME` for a folder, `ERROR_VIRTDISK_NOT_VIRTUAL_DISK` for anything
   *   else that is not a regular file.
   */
  static async open(path: string, options: OpenOptions = {}): Promise<NodeFile> {
    // O_NONBLOCK: opening a named pipe for reading would wait for a writer, for good (a pipe at imagePath hung
    // `pulumi preview`); so it opens at once and is refused below. Reads of a regular file ignore the flag.
    const flags = (options.writable ? constants.O_RDWR : constants.O_RDONLY) | constants.O_NOCTTY | constants.O_NONBLOCK;
    return NodeFile.fromOpen(path, flags, undefined, options.parameter, options.action ?? OPEN_ACTION);
  }

  /**
   * Creates the new empty file `path` (`O_CREAT|O_EXCL|O_NOFOLLOW`, `mode` before the umask) open for reading and
   * writing. @throws `ERROR_ALREADY_EXISTS` when anything, a symbolic link included, is there; the errno mapping's errors.
   */
  static async createExclusive(path: string, options: { mode?: number; parameter?: ErrorParameter } = {}): Promise<NodeFile> {
    const flags = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    return NodeFile.fromOpen(path, flags, options.mode ?? 0o644, options.parameter, `create the file ${path}`);
  }

  private static async fromOpen(
    path: string,
    flags: number,
    mode: number | undefined,
    parameter: ErrorParameter | undefined,
    action: string,
  ): Promise<NodeFile> {
    const context = { parameter, path };
    const handle = await open(path, flags, mode).catch((error: unknown) => {
      throw vhdErrorFromFs(error, { ...context, action });
    });
    try {
      const stats = await handle.stat({ bigint: true });
      if (stats.isDirectory()) throw new VhdError("ERROR_INVALID_NAME", "the path is a folder, not a file", context);
      if (!stats.isFile()) {
        throw new VhdError("ERROR_VIRTDISK_NOT_VIRTUAL_DISK", "this is not a regular file, so it cannot be a VHD", context);
      }
      return new NodeFile(path, handle, Number(stats.size), fileIdentity({ dev: `${stats.dev}`, ino: `${stats.ino}` }), parameter);
    } catch (error) {
      await handle.close();
      throw vhdErrorFromFs(error, { ...context, action: "examine the file" });
    }
  }

  identity(): Promise<string> {
    return Promise.resolve(this.knownIdentity);
  }

  get size(): number {
    return this.sizeBytes;
  }

  /**
   * pread per kernel-sized piece; bytes past the end of the file read as zeros (a sparse tail).
   * @throws `ERROR_VHD_METADATA_READ_FAILURE` also when the file ends before the size it had: cut by another process
   *   while open (a source truncated mid-convert), its bytes are gone, and zeros in their place would be wrong data.
   */
  async read(position: number, length: number, target?: Uint8Array, targetOffset = 0): Promise<Uint8Array> {
    const buffer = target ?? new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, targetOffset + done, length - done, position + done).catch((error: unknown) => {
        throw new VhdError("ERROR_VHD_METADATA_READ_FAILURE", `could not read ${length} bytes at offset ${position}`, {
          parameter: this.parameter,
          path: this.path,
          cause: error,
          details: { offset: position, length },
        });
      });
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done < Math.min(length, this.sizeBytes - position)) {
      throw fileCutError(this, { position, length, endedAt: position + done, sizeWhenOpened: this.sizeBytes });
    }
    buffer.fill(0, targetOffset + done, targetOffset + length);
    return buffer;
  }

  /**
   * pwrite may write less than asked (above 2 GiB per call on Linux, or on a full disk, where the retry then reports
   * ENOSPC as `ERROR_DISK_FULL`), so this loops until all is written.
   */
  async write(position: number, bytes: Uint8Array): Promise<void> {
    await this.writeGathered(position, [bytes]);
  }

  /** One pwritev (pwrite for one chunk), looping over what a short write left, as {@link write} does. */
  async writeGathered(position: number, chunks: readonly Uint8Array[]): Promise<void> {
    const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    let left = chunks.filter((chunk) => chunk.length > 0);
    let done = 0;
    while (left.length > 0) {
      const [first] = left;
      const written = await (left.length === 1 && first !== undefined
        ? this.handle.write(first, 0, first.length, position + done)
        : this.handle.writev(left, position + done)
      ).catch((error: unknown) => {
        throw vhdErrorFromFs(error, { parameter: this.parameter, path: this.path, action: `write ${total} bytes at offset ${position}` });
      });
      done += written.bytesWritten;
      left = unwritten(left, written.bytesWritten);
    }
    this.sizeBytes = Math.max(this.sizeBytes, position + total);
  }

  async truncate(size: number): Promise<void> {
    await this.handle.truncate(size).catch((error: unknown) => {
      throw vhdErrorFromFs(error, { parameter: this.parameter, path: this.path, action: `cut the file to ${size} bytes` });
    });
    this.sizeBytes = size;
  }

  async sync(): Promise<void> {
    await this.handle.sync().catch((error: unknown) => {
      throw vhdErrorFromFs(error, { parameter: this.parameter, path: this.path, action: "flush the file to storage" });
    });
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/** What is left of `chunks` once their first `written` bytes are written. */
function unwritten(chunks: readonly Uint8Array[], written: number): Uint8Array[] {
  const left: Uint8Array[] = [];
  let skip = written;
  for (const chunk of chunks) {
    if (skip >= chunk.length) skip -= chunk.length;
    else {
      left.push(skip === 0 ? chunk : chunk.subarray(skip));
      skip = 0;
    }
  }
  return left;
}
