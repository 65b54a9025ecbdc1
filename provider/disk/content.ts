/**
 * The bytes a new base disk starts with, whatever holds them: a raw image (`create --from`) or another disk read
 * through its chain (`vhd convert`). A writer asks only for the blocks that may hold data, so a sparse source costs
 * time for its data alone: an empty 2000 GiB VHDX converts by reading its BAT, not 2000 GiB of zeros.
 */
import { VhdError } from "../errors";
import { throwIfCancelled } from "../support/cancellation";
import type { ProgressCallback } from "../support/progress";
import type { ByteRange, RandomAccessFile } from "../storage/port";
import type { DiskChain } from "./chain";

/** A source of content for a new disk: bytes at virtual offsets `[0, size)`, zeros outside {@link dataRanges}. */
export interface DiskContent {
  /** Bytes of content; a disk larger than this reads zeros past it. */
  readonly size: number;
  /** Where the source is, for errors (the raw image, or the leaf of the chain). */
  readonly path: string;
  /**
   * The parts of `[0, size)` that may hold non-zero bytes, in order, disjoint; every other byte is zero. A raw
   * image gives its whole length (its zero blocks are found by reading), a disk its allocated extents (maps only).
   */
  dataRanges(): Promise<ByteRange[]>;
  /** Fills `target` with `target.length` bytes at `offset` (inside `[0, size)`). */
  read(offset: number, target: Uint8Array): Promise<void>;
}

/** A raw image open as `file`: every byte may be data. The caller keeps and closes `file`. */
export function rawContent(file: RandomAccessFile): DiskContent {
  return {
    size: file.size,
    path: file.path,
    dataRanges: async () => (file.size === 0 ? [] : [{ offset: 0, length: file.size }]),
    read: async (offset, target) => {
      await file.read(offset, target.length, target);
    },
  };
}

/** The virtual disk `chain` composes (every layer's data; what no layer holds is zero). The caller closes `chain`. */
export function chainContent(chain: DiskChain): DiskContent {
  return {
    size: chain.virtualSize,
    path: chain.leaf.path,
    dataRanges: () => chain.rangesHeldAbove(chain.images.length, 0, chain.virtualSize),
    read: async (offset, target) => {
      await chain.read(offset, target.length, target);
    },
  };
}

/** One block of a new disk that holds data. */
export interface ContentBlock {
  /** Block number: the block starts at virtual byte `index * blockSize`. */
  index: number;
  /** The block's bytes, `blockSize` long (zeros past the content's end); valid until the next block is asked for. */
  data: Uint8Array;
}

/** Options of {@link blocksWithData}. */
export interface BlocksWithDataOptions {
  /** The new disk's size in bytes: content larger than it is refused. */
  virtualSize: number;
  /** The disk's path, named in errors. */
  imagePath: string;
  signal?: AbortSignal;
  /** Bytes of the content passed so far, of its size. */
  onProgress?: ProgressCallback;
}

/** Blocks read while the caller writes the one it holds: reading and writing overlap. */
const READ_AHEAD = 4;
/**
 * Bytes read ahead at most: with VHDX's 32 MiB blocks, four ahead and the one held took 160 MiB, every page of it
 * faulted in and zeroed once (46,000 page faults and 219 MB of RSS for a 1 GiB convert, against qemu-img's 5,000
 * and 25 MB); two ahead still overlap reading and writing.
 */
const READ_AHEAD_BYTES = 64 * 1024 * 1024;
/** Bytes of zeros a block is compared with at a time (a block-sized buffer of zeros was another 32 MiB). */
const ZERO_COMPARE_SIZE = 64 * 1024;

/**
 * The blocks of `blockSize` bytes that {@link DiskContent.dataRanges} touches and whose bytes are not all zero, in
 * order (a dynamic disk leaves every other block unallocated, a fixed one a hole).
 * @throws `ERROR_VHD_INVALID_SIZE` (parameter `size`) when the content is larger than `virtualSize`; read errors;
 *   `VM_E_APP_SHUTTING_DOWN` on cancel.
 */
export async function* blocksWithData(content: DiskContent, blockSize: number, options: BlocksWithDataOptions): AsyncGenerator<ContentBlock> {
  const { virtualSize, imagePath, signal, onProgress } = options;
  if (content.size > virtualSize) {
    throw new VhdError(
      "ERROR_VHD_INVALID_SIZE",
      `the source holds ${content.size} bytes, more than the disk's ${virtualSize}; give a size of at least ${content.size} (rounded up to 512)`,
      { parameter: "size", value: virtualSize, path: imagePath, details: { source: content.path, sourceSize: content.size } },
    );
  }
  const indexes = blockIndexes(await content.dataRanges(), blockSize);
  const readAhead = Math.max(1, Math.min(READ_AHEAD, Math.floor(READ_AHEAD_BYTES / blockSize)));
  const buffers = Array.from({ length: Math.min(readAhead + 1, indexes.length) }, () => new Uint8Array(blockSize));
  const zeros = Buffer.alloc(Math.min(ZERO_COMPARE_SIZE, blockSize));
  const readBlock = async (position: number): Promise<ContentBlock> => {
    const index = indexes[position] as number;
    const data = buffers[position % buffers.length] as Uint8Array;
    const start = index * blockSize;
    const length = Math.min(blockSize, content.size - start);
    await content.read(start, data.subarray(0, length));
    data.fill(0, length);
    return { index, data };
  };
  const pending: Promise<ContentBlock>[] = [];
  let scheduled = 0;
  const schedule = (): void => {
    while (scheduled < indexes.length && pending.length < buffers.length) {
      const read = readBlock(scheduled++);
      // Reported when awaited; until then a rejected read must not count as unhandled.
      read.catch(() => undefined);
      pending.push(read);
    }
  };
  try {
    schedule();
    for (let read = pending.shift(); read !== undefined; read = pending.shift()) {
      throwIfCancelled(signal, { parameter: "path", path: imagePath });
      const block = await read;
      if (!isAllZero(block.data, zeros)) yield block;
      onProgress?.({ bytesDone: Math.min((block.index + 1) * blockSize, content.size), bytesTotal: content.size });
      schedule();
    }
    onProgress?.({ bytesDone: content.size, bytesTotal: content.size });
  } finally {
    await Promise.allSettled(pending);
  }
}

/** The block numbers `ranges` (sorted, disjoint) touch, in order, each once. */
function blockIndexes(ranges: readonly ByteRange[], blockSize: number): number[] {
  const indexes: number[] = [];
  for (const { offset, length } of ranges) {
    if (length === 0) continue;
    const last = Math.floor((offset + length - 1) / blockSize);
    for (let index = Math.max(Math.floor(offset / blockSize), (indexes[indexes.length - 1] ?? -1) + 1); index <= last; index++) {
      indexes.push(index);
    }
  }
  return indexes;
}

/** True when every byte of `bytes` is zero, compared with `zeros` a piece at a time (one memcmp each). */
function isAllZero(bytes: Uint8Array, zeros: Buffer): boolean {
  for (let at = 0; at < bytes.length; at += zeros.length) {
    const length = Math.min(zeros.length, bytes.length - at);
    if (zeros.compare(bytes, at, at + length, 0, length) !== 0) return false;
  }
  return true;
}
