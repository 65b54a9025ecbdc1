import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import type { ErrorParameter } from "../errors";
import { throwIfCancelled } from "../fs/cancellation";
import { vhdErrorFromFs } from "../fs/fs-error";
import type { ProgressCallback } from "../fs/progress";

/**
 * Bytes per read. Large reads keep the per-call overhead (a thread-pool round trip) far below the hashing cost; two
 * buffers of this size are the whole memory the checksum uses, whatever the file size.
 */
export const SHA256_READ_SIZE = 1024 * 1024;

/** Options of {@link sha256File}. */
export interface Sha256Options {
  /** Called after every read with the bytes hashed so far and the file's size when the checksum started. */
  onProgress?: ProgressCallback;
  /** Cancels the checksum: it then rejects with `VM_E_APP_SHUTTING_DOWN`. */
  signal?: AbortSignal;
  /** The input the path came from, for error messages (default `parentPath`, the checksum the provider records). */
  parameter?: ErrorParameter;
  /**
   * File ranges hashed as if they held zeros: the parts of a file that may change without changing what it means
   * (a differencing disk's parent link, see vhd/unlinked-checksum.ts). Default: none, the plain `sha256sum` digest.
   */
  zeroRanges?: readonly ByteRange[];
}

/** A run of bytes in a file. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Zeroes the parts of `buffer` (holding the file's bytes from `start`) that fall in one of `ranges`. */
export function zeroOverlaps(buffer: Buffer, start: number, ranges: readonly ByteRange[]): void {
  const end = start + buffer.length;
  for (const { offset, length } of ranges) {
    const from = Math.max(offset, start);
    const to = Math.min(offset + length, end);
    if (from < to) buffer.fill(0, from - start, to - start);
  }
}

/** What {@link sha256File} returns. */
export interface Sha256Result {
  /** The SHA-256 of the file's bytes (`zeroRanges` read as zeros), 64 lower-case hex digits (as `sha256sum` prints it). */
  sha256: string;
  /** How many bytes were hashed. */
  bytes: number;
}

/**
 * The SHA-256 of a file, read as a stream with two fixed buffers (constant memory), as fast as the disk and OpenSSL
 * allow: the next read runs in the thread pool while the current buffer is hashed.
 *
 * Errors: `ERROR_PATH_NOT_FOUND`, `ERROR_ACCESS_DENIED`, ... from the table (see `fs/fs-error.ts`), and
 * `VM_E_APP_SHUTTING_DOWN` on cancel.
 */
export async function sha256File(path: string, options: Sha256Options = {}): Promise<Sha256Result> {
  const { onProgress, signal, parameter = "parentPath", zeroRanges = [] } = options;
  const context = { parameter, path };
  throwIfCancelled(signal, context);
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw vhdErrorFromFs(error, { ...context, action: "open the file to compute its checksum" });
  }
  try {
    const bytesTotal = (await handle.stat()).size;
    const hash = createHash("sha256");
    let filled = Buffer.allocUnsafe(SHA256_READ_SIZE);
    let spare = Buffer.allocUnsafe(SHA256_READ_SIZE);
    let bytesDone = 0;
    let { bytesRead } = await handle.read(filled, 0, SHA256_READ_SIZE, 0);
    while (bytesRead > 0) {
      // Cancel and progress run only here, where no read is in flight, so an exception never orphans a read.
      throwIfCancelled(signal, context);
      const next = handle.read(spare, 0, SHA256_READ_SIZE, bytesDone + bytesRead);
      const read = filled.subarray(0, bytesRead);
      zeroOverlaps(read, bytesDone, zeroRanges);
      hash.update(read);
      bytesDone += bytesRead;
      [filled, spare] = [spare, filled];
      ({ bytesRead } = await next);
      onProgress?.({ bytesDone, bytesTotal });
    }
    return { sha256: hash.digest("hex"), bytes: bytesDone };
  } catch (error) {
    throw vhdErrorFromFs(error, { ...context, action: "read the file to compute its checksum" });
  } finally {
    await handle.close();
  }
}
