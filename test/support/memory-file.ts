/**
 * An in-memory {@link RandomAccessFile} for crash tests: it can stop after any number of writes, optionally tearing
 * the write it stops in, so a test can look at the bytes a crash at that point would leave, without mocking node:fs.
 */
import type { RandomAccessFile } from "../../provider/storage/random-access-file";

/** Where to stop: after `writes` whole writes, then the next one applies only its first `tornBytes` (default none). */
export interface CrashPoint {
  writes: number;
  tornBytes?: number;
}

/** Thrown by a {@link MemoryFile} write, truncate or sync once its crash point is reached. */
export class SimulatedCrash extends Error {
  constructor() {
    super("simulated crash");
  }
}

/** A file held in memory. `bytes` is what a crash at this moment leaves on the storage. */
export class MemoryFile implements RandomAccessFile {
  readonly identity: string;
  private data: Uint8Array;
  private writesDone = 0;
  private crashed = false;

  constructor(
    readonly path: string,
    initial: Uint8Array,
    private readonly crashAt?: CrashPoint,
  ) {
    this.data = Uint8Array.from(initial);
    this.identity = `memory:${path}`;
  }

  /** The file's bytes now. */
  get bytes(): Uint8Array {
    return this.data;
  }

  get size(): number {
    return this.data.length;
  }

  /** Writes, truncations and syncs done so far (only writes and truncations count towards the crash point). */
  get writes(): number {
    return this.writesDone;
  }

  async read(position: number, length: number, target?: Uint8Array, targetOffset = 0): Promise<Uint8Array> {
    const buffer = target ?? new Uint8Array(length);
    const available = this.data.subarray(Math.min(position, this.data.length), Math.min(position + length, this.data.length));
    buffer.set(available, targetOffset);
    buffer.fill(0, targetOffset + available.length, targetOffset + length);
    return buffer;
  }

  async write(position: number, bytes: Uint8Array): Promise<void> {
    const applied = this.beforeChange(bytes.length);
    this.apply(position, bytes.subarray(0, applied));
    if (applied < bytes.length) throw new SimulatedCrash();
  }

  async truncate(size: number): Promise<void> {
    if (this.beforeChange(1) === 0) throw new SimulatedCrash();
    const next = new Uint8Array(size);
    next.set(this.data.subarray(0, Math.min(size, this.data.length)));
    this.data = next;
  }

  async sync(): Promise<void> {
    if (this.crashed) throw new SimulatedCrash();
  }

  async close(): Promise<void> {}

  /** How many bytes of a change of `length` happen before the crash point (all of them when it is not reached). */
  private beforeChange(length: number): number {
    if (this.crashed) throw new SimulatedCrash();
    if (this.crashAt === undefined || this.writesDone < this.crashAt.writes) {
      this.writesDone++;
      return length;
    }
    this.crashed = true;
    return Math.min(this.crashAt.tornBytes ?? 0, length);
  }

  private apply(position: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const end = position + bytes.length;
    if (end > this.data.length) {
      const grown = new Uint8Array(end);
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(bytes, position);
  }
}
