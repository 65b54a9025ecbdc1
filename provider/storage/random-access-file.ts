/**
 * The engine's view of an open disk file: positioned reads and writes, its size, flushing, shortening and closing.
 * `Storage.open` and `Storage.createExclusive` (port.ts) give one; `storage/local/node-file.ts` is the local
 * implementation, `storage/memory/memory-file.ts` an in-memory one whose writes fail or stop where a test says.
 */
import { VhdError, type ErrorParameter } from "../errors";

/** An open file with random access. Offsets and sizes are bytes. */
export interface RandomAccessFile {
  /** The path the file was opened by (named in errors; W2ru locators are relative to its folder). */
  readonly path: string;
  /**
   * The input that named the file (`imagePath`, `parentPath`, `path`, ...), so errors name it as the user gave it;
   * undefined for a file reached only through a chain.
   */
  readonly parameter?: ErrorParameter;
  /**
   * What makes two opens the same file (`dev:ino`, `storage/facts.ts` `fileIdentity`): chains use it to detect loops.
   * A method, not a field, because a remote adapter must ask the host for it (one command there); it is asked only
   * when a chain walk compares files, and kept by the open file after the first call.
   */
  identity(): Promise<string>;
  /** Current size in bytes, including what this handle has written. */
  readonly size: number;
  /**
   * Reads `length` bytes at `position` into `target` at `targetOffset` (a new buffer when omitted). Bytes past the
   * end of the file read as zeros.
   * @throws `ERROR_VHD_METADATA_READ_FAILURE` when the storage fails, or when the file ends before the size it had
   *   (cut by another handle or process while open: its bytes are gone, see {@link fileCutError}).
   */
  read(position: number, length: number, target?: Uint8Array, targetOffset?: number): Promise<Uint8Array>;
  /**
   * Writes all of `bytes` at `position`, extending the file when it ends before `position + bytes.length`.
   * @throws the table's file-system errors (`ERROR_DISK_FULL`, `ERROR_ACCESS_DENIED`, ...).
   */
  write(position: number, bytes: Uint8Array): Promise<void>;
  /**
   * Writes `chunks` back to back from `position`, as a {@link write} of their concatenation would, without joining
   * them: one `pwritev` where the storage has it, so a copy that writes the pieces ready for their turn together
   * waits for the I/O thread once instead of once per piece; {@link writeEachInTurn} elsewhere.
   * @throws as {@link write}; the chunks before the failing one may be written.
   */
  writeGathered(position: number, chunks: readonly Uint8Array[]): Promise<void>;
  /** Cuts (or extends with zeros) the file to `size` bytes. */
  truncate(size: number): Promise<void>;
  /** Makes every write so far durable (fsync): the barrier crash-ordered writers put between their steps. */
  sync(): Promise<void>;
  /** Closes the file; safe to call twice. */
  close(): Promise<void>;
}

/** {@link RandomAccessFile.writeGathered} through `write`, one chunk after the other. */
export async function writeEachInTurn(write: RandomAccessFile["write"], position: number, chunks: readonly Uint8Array[]): Promise<void> {
  let at = position;
  for (const chunk of chunks) {
    await write(at, chunk);
    at += chunk.length;
  }
}

/** Where a read came short of the size a file had when opened: the read, the byte the file ended at, that size. */
export interface CutRead {
  position: number;
  length: number;
  endedAt: number;
  sizeWhenOpened: number;
}

/**
 * The adapters' `ERROR_VHD_METADATA_READ_FAILURE` for a read that came short of the size the file had (a file cut by
 * another process while open: its bytes are gone, and zeros in their place would be wrong data). `where` leads the
 * reason (a remote file's host).
 */
export function fileCutError(file: { path: string; parameter: ErrorParameter | undefined }, read: CutRead, where = ""): VhdError {
  const { position, length, endedAt, sizeWhenOpened } = read;
  const reason =
    `${where}could not read ${length} bytes at offset ${position}: the file ends at byte ${endedAt}, but was ` +
    `${sizeWhenOpened} bytes long; something cut it while in use. Make sure nothing else writes it, and retry`;
  return new VhdError("ERROR_VHD_METADATA_READ_FAILURE", reason, {
    parameter: file.parameter,
    path: file.path,
    details: { offset: position, length },
  });
}
