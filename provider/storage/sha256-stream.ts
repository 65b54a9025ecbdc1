/**
 * The SHA-256 of a file read through the port: what adapters without a faster way (the local one, the in-memory one)
 * answer `Storage.sha256` with.
 */
import { createHash } from "node:crypto";
import type { ErrorParameter } from "../errors";
import { throwIfCancelled } from "../support/cancellation";
import type { ProgressCallback } from "../support/progress";
import type { Storage } from "./port";
import type { RandomAccessFile } from "./random-access-file";

/**
 * Bytes per read. Large reads keep the per-call overhead (a thread-pool round trip) far below the hashing cost; two
 * buffers of this size are the whole memory the checksum uses, whatever the file size.
 */
export const SHA256_READ_SIZE = 1024 * 1024;

/** Options of `Storage.sha256`. */
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

/** What `Storage.sha256` returns. */
export interface Sha256Result {
  /** The SHA-256 of the file's bytes (`zeroRanges` read as zeros), 64 lower-case hex digits (as `sha256sum` prints it). */
  sha256: string;
  /** How many bytes were hashed. */
  bytes: number;
}

/** Zeroes the parts of `buffer` (holding the file's bytes from `start`) that fall in one of `ranges`. */
function zeroOverlaps(buffer: Uint8Array, start: number, ranges: readonly ByteRange[]): void {
  const end = start + buffer.length;
  for (const { offset, length } of ranges) {
    const from = Math.max(offset, start);
    const to = Math.min(offset + length, end);
    if (from < to) buffer.fill(0, from - start, to - start);
  }
}

/**
 * Hashes the open `file` (its size when called) with two fixed buffers (constant memory): the next read runs while
 * the current buffer is hashed. Does not close `file`.
 * @throws the file's read errors, `VM_E_APP_SHUTTING_DOWN` on cancel.
 */
export async function sha256OfFile(file: RandomAccessFile, options: Sha256Options = {}): Promise<Sha256Result> {
  const { onProgress, signal, parameter = "parentPath", zeroRanges = [] } = options;
  const context = { parameter, path: file.path };
  const bytesTotal = file.size;
  const hash = createHash("sha256");
  const readAt = (buffer: Uint8Array, position: number): Promise<number> => {
    const length = Math.min(SHA256_READ_SIZE, bytesTotal - position);
    return length <= 0 ? Promise.resolve(0) : file.read(position, length, buffer).then(() => length);
  };
  let filled = new Uint8Array(SHA256_READ_SIZE);
  let spare = new Uint8Array(SHA256_READ_SIZE);
  let bytesDone = 0;
  let bytesRead = await readAt(filled, 0);
  while (bytesRead > 0) {
    // Cancel and progress run only here, where no read is in flight, so an exception never orphans a read.
    throwIfCancelled(signal, context);
    const next = readAt(spare, bytesDone + bytesRead);
    const read = filled.subarray(0, bytesRead);
    zeroOverlaps(read, bytesDone, zeroRanges);
    hash.update(read);
    bytesDone += bytesRead;
    [filled, spare] = [spare, filled];
    bytesRead = await next;
    onProgress?.({ bytesDone, bytesTotal });
  }
  return { sha256: hash.digest("hex"), bytes: bytesDone };
}

/**
 * `Storage.sha256` for an adapter that hashes by reading: opens `path` on `storage` and streams it.
 * @throws the storage's open and read errors (naming `options.parameter`, default `parentPath`), cancel.
 */
export async function sha256ByReading(storage: Storage, path: string, options: Sha256Options = {}): Promise<Sha256Result> {
  const file = await storage.open(path, { parameter: options.parameter ?? "parentPath" });
  try {
    return await sha256OfFile(file, options);
  } finally {
    await file.close();
  }
}
