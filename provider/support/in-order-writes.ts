/**
 * Writes handed in out of order, done one at a time in number order, as qemu-img convert writes unless told `-W`:
 * for one local file, where concurrent writers contend for the file's lock (ext4's inode rwsem, spun on in the
 * kernel) and out-of-order ones scatter its extents. Each write takes every entry ready by then, the one whose turn
 * it is and those after it, and writes their touching runs as one gathered write: when the reads run ahead of the
 * writes, the writer waits for the I/O thread once per batch instead of once per piece (`vhd read` of a 1 GiB VHDX
 * left its write chain idle for 0.5-0.8 s of 1.6 s between its 512 pwrites, a median 0.5-0.6 ms each, qemu-img's 0.25).
 */

/** Bytes to write at a position of the file. */
export interface PositionedBytes {
  position: number;
  bytes: Uint8Array;
}

/** An entry handed in and not yet written. */
interface Waiting {
  runs: readonly PositionedBytes[];
  /** Settles the entry's {@link InOrderWrites.put}: written (no error), or failed. */
  settle(outcome: { error: unknown } | "written" | "stopped"): void;
}

export class InOrderWrites {
  private next = 0;
  private draining = false;
  private stopped = false;
  private readonly waiting = new Map<number, Waiting>();

  /**
   * `writeGathered` writes chunks back to back from a position (`RandomAccessFile.writeGathered`); one write takes at
   * most `mostPerWrite` entries.
   */
  constructor(
    private readonly writeGathered: (position: number, chunks: readonly Uint8Array[]) => Promise<void>,
    private readonly mostPerWrite: number,
  ) {}

  /**
   * Hands over entry `turn`'s runs (turns start at 0 and each is handed over once; runs in position order, none
   * overlapping a later entry's). Resolves true once they are written (their bytes may then be reused), false when
   * the writes stopped first ({@link stop}, or an earlier entry's failed write: nothing after it is written).
   * @throws what the write of this entry's batch threw.
   */
  put(turn: number, runs: readonly PositionedBytes[]): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.set(turn, {
        runs,
        settle: (outcome) => (typeof outcome === "object" ? reject(outcome.error) : resolve(outcome === "written")),
      });
      if (turn === this.next && !this.draining) void this.drain();
    });
  }

  /** Every entry not yet written, and every later {@link put}, resolves false. */
  stop(): void {
    this.stopped = true;
    for (const entry of this.waiting.values()) entry.settle("stopped");
    this.waiting.clear();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (!this.stopped && this.waiting.has(this.next)) {
      const batch: Waiting[] = [];
      for (let entry = this.waiting.get(this.next); entry !== undefined && batch.length < this.mostPerWrite; entry = this.waiting.get(this.next)) {
        this.waiting.delete(this.next++);
        batch.push(entry);
      }
      try {
        for (const span of touchingSpans(batch.flatMap((entry) => entry.runs))) await this.writeGathered(span.position, span.chunks);
      } catch (error) {
        for (const entry of batch) entry.settle({ error });
        this.stop();
        break;
      }
      for (const entry of batch) entry.settle("written");
    }
    this.draining = false;
  }
}

/** `runs` (in position order) grouped where each starts at the end of the one before. */
function touchingSpans(runs: readonly PositionedBytes[]): { position: number; chunks: Uint8Array[] }[] {
  const spans: { position: number; chunks: Uint8Array[] }[] = [];
  let end = -1;
  for (const { position, bytes } of runs) {
    const last = spans.at(-1);
    if (last !== undefined && position === end) last.chunks.push(bytes);
    else spans.push({ position, chunks: [bytes] });
    end = position + bytes.length;
  }
  return spans;
}
