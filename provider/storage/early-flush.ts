/**
 * Flushing a file being written while the writing goes on, so the sync that must end a durable create has little
 * left to do: left alone, the kernel starts writing a new file's dirty pages back only past `dirty_background_ratio`
 * (10% of the memory: 2.4 GB on 24 GiB) or after 30 s, so a 2 GiB convert wrote its whole file back in the final
 * fsync (0.5 s of a 1.3 s convert at 1 GiB), after the work instead of beside it. qemu-img convert `-t writeback`
 * flushes in the same way as it goes (its VHDX driver flushes at every block allocation, and at close).
 */
import type { RandomAccessFile } from "./random-access-file";
import { wrappedFile } from "./wrapped-file";

/**
 * Bytes written between two early flushes: large enough that their number stays small (32 for 2 GiB, each one a
 * journal commit), small enough that the final sync waits for about one interval's writeback.
 */
export const EARLY_FLUSH_INTERVAL = 64 * 1024 * 1024;

/**
 * `file` as a writer sees it, with a sync started in the background (at most one at a time) each time
 * `interval` more bytes have been written. Nothing is made durable by this alone: the caller still syncs at the end,
 * after {@link EarlyFlush.settle}.
 */
export class EarlyFlush {
  private unflushed = 0;
  private flushing: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  /** The file to write through. */
  readonly file: RandomAccessFile;

  constructor(target: RandomAccessFile, interval: number = EARLY_FLUSH_INTERVAL) {
    const counted = async (bytes: number, writing: () => Promise<void>): Promise<void> => {
      if (this.failure !== undefined) throw this.failure.error;
      await writing();
      this.unflushed += bytes;
      if (this.unflushed >= interval && this.flushing === undefined) {
        this.unflushed = 0;
        this.flushing = target.sync().then(
          () => {
            this.flushing = undefined;
          },
          (error: unknown) => {
            this.failure ??= { error };
            this.flushing = undefined;
          },
        );
      }
    };
    this.file = wrappedFile(target, {
      write: (position, bytes) => counted(bytes.length, () => target.write(position, bytes)),
      writeGathered: (position, chunks) =>
        counted(
          chunks.reduce((sum, chunk) => sum + chunk.length, 0),
          () => target.writeGathered(position, chunks),
        ),
    });
  }

  /**
   * Waits for the flush in flight, if any. @throws what a background flush threw: Linux reports a failed writeback
   * to one fsync only, and a later one may succeed with the data lost, so the caller's final sync cannot stand in.
   */
  async settle(): Promise<void> {
    await this.flushing;
    if (this.failure !== undefined) throw this.failure.error;
  }
}
