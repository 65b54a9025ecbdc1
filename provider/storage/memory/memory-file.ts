/**
 * An in-memory {@link RandomAccessFile}: the open files of `MemoryStorage`, and on its own a file for crash tests. It
 * can stop after any number of writes, optionally tearing the write it stops in, so a test can look at the bytes a
 * crash at that point would leave; and its storage can make any write fail as a full or broken disk would.
 */
import { VhdError, type ErrorParameter } from "../../errors";
import { fileCutError, writeEachInTurn, type RandomAccessFile } from "../random-access-file";

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

/** A file's bytes and metadata, shared by every open of it (a hard link is a second name for the same inode). */
export interface MemoryInode {
  ino: number;
  data: Uint8Array;
  /** Permission bits. */
  mode: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

let clock = BigInt(Date.now()) * 1_000_000n;

/** A strictly increasing time stamp (ns), so every change gives a file a new fingerprint. */
export function nextTimeNs(): bigint {
  clock += 1_000n;
  return clock;
}

let nextIno = 1;

/** A new inode holding `bytes`. */
export function newInode(bytes: Uint8Array, mode = 0o644): MemoryInode {
  const now = nextTimeNs();
  return { ino: nextIno++, data: Uint8Array.from(bytes), mode, mtimeNs: now, ctimeNs: now };
}

/** What the storage holding the file wants to know of, or do to, its reads and changes. */
export interface MemoryFileEvents {
  /** Before each read. */
  onRead?(file: MemoryFile): void;
  /**
   * Before each write or truncation of `length` bytes: returns how many of them to apply, and then the file throws
   * `fault()` if fewer than all were (a short write that ends in an error), or throws itself.
   */
  beforeChange?(file: MemoryFile, length: number): { applied: number; fault?: () => Error };
}

/** Options of {@link MemoryFile}. */
export interface MemoryFileOptions {
  crashAt?: CrashPoint;
  parameter?: ErrorParameter;
  /** False for a read-only open: every change then fails with `ERROR_ACCESS_DENIED`. Default true. */
  writable?: boolean;
  events?: MemoryFileEvents;
}

/** A file held in memory. `bytes` is what a crash at this moment leaves on the storage. */
export class MemoryFile implements RandomAccessFile {
  private readonly knownIdentity: string;
  readonly parameter: ErrorParameter | undefined;
  private readonly inode: MemoryInode;
  private readonly crashAt: CrashPoint | undefined;
  private readonly writable: boolean;
  private readonly events: MemoryFileEvents;
  private writesDone = 0;
  private crashed = false;
  /** The size at open or after this open's last change: a read ending before it finds the file cut by another. */
  private knownSize: number;

  /** `initial`: the bytes of a file of its own, or the inode of a `MemoryStorage` file. */
  constructor(
    readonly path: string,
    initial: Uint8Array | MemoryInode,
    options?: CrashPoint | MemoryFileOptions,
  ) {
    const opts: MemoryFileOptions = options !== undefined && "writes" in options ? { crashAt: options } : (options ?? {});
    this.inode = initial instanceof Uint8Array ? newInode(initial) : initial;
    this.knownIdentity = `0:${this.inode.ino}`;
    this.parameter = opts.parameter;
    this.crashAt = opts.crashAt;
    this.writable = opts.writable ?? true;
    this.events = opts.events ?? {};
    this.knownSize = this.inode.data.length;
  }

  /** The file's bytes now. */
  get bytes(): Uint8Array {
    return this.inode.data;
  }

  identity(): Promise<string> {
    return Promise.resolve(this.knownIdentity);
  }

  get size(): number {
    return this.inode.data.length;
  }

  /** Writes and truncations done so far through this open (they count towards the crash point). */
  get writes(): number {
    return this.writesDone;
  }

  async read(position: number, length: number, target?: Uint8Array, targetOffset = 0): Promise<Uint8Array> {
    this.events.onRead?.(this);
    const data = this.inode.data;
    const buffer = target ?? new Uint8Array(length);
    const available = data.subarray(Math.min(position, data.length), Math.min(position + length, data.length));
    if (available.length < Math.min(length, this.knownSize - position)) {
      throw fileCutError(this, { position, length, endedAt: position + available.length, sizeWhenOpened: this.knownSize });
    }
    buffer.set(available, targetOffset);
    buffer.fill(0, targetOffset + available.length, targetOffset + length);
    return buffer;
  }

  async write(position: number, bytes: Uint8Array): Promise<void> {
    const { applied, fault } = this.beforeChange(bytes.length);
    this.apply(position, bytes.subarray(0, applied));
    if (applied < bytes.length) throw fault?.() ?? new SimulatedCrash();
  }

  writeGathered(position: number, chunks: readonly Uint8Array[]): Promise<void> {
    return writeEachInTurn((at, bytes) => this.write(at, bytes), position, chunks);
  }

  async truncate(size: number): Promise<void> {
    const { applied, fault } = this.beforeChange(1);
    if (applied === 0) throw fault?.() ?? new SimulatedCrash();
    const next = new Uint8Array(size);
    next.set(this.inode.data.subarray(0, Math.min(size, this.inode.data.length)));
    this.changed(next);
  }

  async sync(): Promise<void> {
    if (this.crashed) throw new SimulatedCrash();
  }

  async close(): Promise<void> {}

  /** How many bytes of a change of `length` happen (all of them unless the crash point or a fault says otherwise). */
  private beforeChange(length: number): { applied: number; fault?: () => Error } {
    if (this.crashed) throw new SimulatedCrash();
    if (!this.writable) {
      throw new VhdError("ERROR_ACCESS_DENIED", "the file was opened for reading only", { parameter: this.parameter, path: this.path });
    }
    if (this.crashAt !== undefined && this.writesDone >= this.crashAt.writes) {
      this.crashed = true;
      return { applied: Math.min(this.crashAt.tornBytes ?? 0, length) };
    }
    this.writesDone++;
    return this.events.beforeChange?.(this, length) ?? { applied: length };
  }

  private apply(position: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    let data = this.inode.data;
    const end = position + bytes.length;
    if (end > data.length) {
      const grown = new Uint8Array(end);
      grown.set(data);
      data = grown;
    }
    data.set(bytes, position);
    this.changed(data);
  }

  private changed(data: Uint8Array): void {
    this.inode.data = data;
    this.knownSize = data.length;
    this.inode.mtimeNs = this.inode.ctimeNs = nextTimeNs();
  }
}
