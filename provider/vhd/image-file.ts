/**
 * The local adapter of {@link RandomAccessFile}: positioned reads and writes on an open disk image file, with errors
 * from the one table. The engine's only contact with `node:fs` on the reading side.
 */
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { VhdError, type ErrorParameter } from "../errors";
import { vhdErrorFromFs } from "../storage/local/fs-error";
import type { RandomAccessFile } from "../storage/random-access-file";

/** Device and inode of a file, as a string: the same file under two names (links) has one identity. */
export function fileIdentity(stats: { dev: number; ino: number }): string {
  return `${stats.dev}:${stats.ino}`;
}

/** An open image file: its path, its size when opened, positioned reads and writes. */
export class ImageFile implements RandomAccessFile {
  private constructor(
    /** The path the file was opened by. */
    readonly path: string,
    /** The open handle; the writer may use it directly (e.g. to extend the file). */
    readonly handle: FileHandle,
    /** Size in bytes at open time, then grown by every write past the end. */
    private sizeBytes: number,
    /** Device and inode, to recognise the same file under two names (chain cycle detection). */
    readonly identity: string,
    /** The input that named the file (`path`, `imagePath`, ...), named in errors; none for a file found otherwise. */
    readonly parameter: ErrorParameter | undefined,
  ) {}

  /** Opens `path` for reading (or reading and writing), refusing anything that is not a regular file. */
  static async open(path: string, options: { writable?: boolean; parameter?: ErrorParameter } = {}): Promise<ImageFile> {
    const context = { parameter: options.parameter, path };
    const flags = (options.writable ? constants.O_RDWR : constants.O_RDONLY) | constants.O_NOCTTY;
    const handle = await open(path, flags).catch((error: unknown) => {
      throw vhdErrorFromFs(error, { ...context, action: "open the disk image" });
    });
    try {
      const stats = await handle.stat({ bigint: false });
      if (!stats.isFile()) {
        throw new VhdError("ERROR_VIRTDISK_NOT_VIRTUAL_DISK", "this is not a regular file, so it cannot be a VHD", context);
      }
      return new ImageFile(path, handle, stats.size, fileIdentity(stats), options.parameter);
    } catch (error) {
      await handle.close();
      throw vhdErrorFromFs(error, { ...context, action: "examine the disk image" });
    }
  }

  /** File size in bytes. */
  get size(): number {
    return this.sizeBytes;
  }

  /**
   * Reads `length` bytes at `position` into `target` at `targetOffset` (a new buffer when omitted), in one call to
   * pread per kernel-sized piece. Bytes past the end of the file read as zeros (a sparse tail).
   */
  async read(position: number, length: number, target?: Uint8Array, targetOffset = 0): Promise<Uint8Array> {
    const buffer = target ?? new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle
        .read(buffer, targetOffset + done, length - done, position + done)
        .catch((error: unknown) => {
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
    buffer.fill(0, targetOffset + done, targetOffset + length);
    return buffer;
  }

  /** Writes all of `bytes` at `position`. */
  async write(position: number, bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle
        .write(bytes, done, bytes.length - done, position + done)
        .catch((error: unknown) => {
          throw vhdErrorFromFs(error, { parameter: this.parameter, path: this.path, action: `write at offset ${position}` });
        });
      done += bytesWritten;
    }
    this.sizeBytes = Math.max(this.sizeBytes, position + bytes.length);
  }

  /** Cuts (or extends with zeros) the file to `size` bytes. */
  async truncate(size: number): Promise<void> {
    await this.handle.truncate(size).catch((error: unknown) => {
      throw vhdErrorFromFs(error, { parameter: this.parameter, path: this.path, action: `cut the file to ${size} bytes` });
    });
    this.sizeBytes = size;
  }

  /** Makes every write so far durable (fsync). */
  async sync(): Promise<void> {
    await this.handle.sync().catch((error: unknown) => {
      throw vhdErrorFromFs(error, { parameter: this.parameter, path: this.path, action: "flush the disk to storage" });
    });
  }

  /** Closes the file; safe to call twice. */
  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
