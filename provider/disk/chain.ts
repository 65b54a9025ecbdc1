/**
 * A differencing chain, leaf to base, and reading the virtual disk through it, whatever the disks' format: each disk
 * is a {@link DiskImage} its driver opened (formats.ts), and the walk asks it only for its parent reference. Each
 * link is checked the way docs/vhd-format.md §4 recommends: the parent is the first candidate that exists and whose
 * identity equals the one the child records, with the same virtual size; the walk is bounded and refuses loops.
 */
import { Readable } from "node:stream";
import { VhdError, isVhdError, type ErrorName, type ErrorParameter } from "../errors";
import { throwIfCancelled } from "../support/cancellation";
import { InOrderWrites } from "../support/in-order-writes";
import { fileIdentity, identifiesFile, modifiedDate, type FileFingerprint } from "../storage/facts";
import { localStorage } from "../storage/local/local-storage";
// A run of bytes: here of the virtual disk, in the port of a file.
import type { ByteRange, RandomAccessFile, Storage } from "../storage/port";
import type { DiskFormatDriver } from "./driver";
import { openDisk } from "./formats";
import { acceptsParentId, type DiskImage, type ParentCandidate, type ParentReference } from "./image";

/** Default cap on chain length (leaf included): deeper chains are refused as ERROR_VIRTUAL_DISK_LIMITATION. */
export const DEFAULT_MAX_CHAIN_DEPTH = 64;
/** Bytes per piece when a whole disk is read sequentially: large enough that one pread covers a whole block. */
export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

/**
 * Chunks read ahead of the one the caller holds, by default. The reads of one chunk already run concurrently (one
 * pread per block); a second chunk in flight keeps the thread pool busy while the caller writes.
 */
export const DEFAULT_READ_AHEAD = 1;

/** Options of {@link DiskChain.chunks}. */
export interface ChunksOptions {
  /** First virtual byte (default 0). */
  offset?: number;
  /** Bytes to read (default: to the end of the disk). */
  length?: number;
  /** Bytes per chunk (default {@link DEFAULT_CHUNK_SIZE}). */
  chunkSize?: number;
  /** Chunks read while the caller holds one (default {@link DEFAULT_READ_AHEAD}); each takes a buffer. */
  readAhead?: number;
}

/** Options of {@link DiskChain.copyToFile}. */
export interface CopyToFileOptions {
  /** First virtual byte (default 0); it lands at file offset 0. */
  offset?: number;
  /** Bytes to copy (default: to the end of the disk); the file ends up exactly this long. */
  length?: number;
  /** Bytes each worker reads and writes at a time (default {@link DEFAULT_COPY_PIECE_SIZE}). */
  pieceSize?: number;
  /** Pieces in flight at once, each with its own buffer (default {@link DEFAULT_COPY_WORKERS}). */
  workers?: number;
  /** Stops the copy between pieces with `VM_E_APP_SHUTTING_DOWN`. */
  signal?: AbortSignal;
  /** Called after each piece with the bytes of the range done so far (pieces finish out of order; the count grows). */
  onProgress?: (bytesDone: number) => void;
}

/** One 2 MiB block per piece, as qemu-img convert moves them: a piece's buffer stays in cache from pread to pwrite. */
export const DEFAULT_COPY_PIECE_SIZE = 2 * 1024 * 1024;
/**
 * Pieces in flight in {@link DiskChain.copyToFile}: with several reads and writes queued, the thread pool never waits
 * for the main thread to hand it the next one (on a busy machine that wake-up is what a one-deep pipeline waits on).
 * Eight, as qemu-img convert keeps in flight by default; with four, `vhd read` of a sparse 2 GiB disk took 1.3-2.5x
 * as long on a loaded 2-core machine. Memory: one piece's buffer each (16 MiB in all).
 */
export const DEFAULT_COPY_WORKERS = 8;

/** Options of {@link openChain}. */
export interface OpenChainOptions {
  /** Most disks in the chain, leaf included (default {@link DEFAULT_MAX_CHAIN_DEPTH}). */
  maxDepth?: number;
  /** Passed to every driver's open: refuse repairable damage instead of warning. */
  strict?: boolean;
  /** Passed to every driver's open (`OpenImageOptions.mapsOnDemand`, driver.ts). */
  mapsOnDemand?: boolean;
  /** The input the leaf path came from, named in errors. */
  parameter?: ErrorParameter;
  /** The drivers a disk of the chain may be opened by (default: every driver, `DRIVERS` in formats.ts). */
  drivers?: readonly DiskFormatDriver[];
  /** Where the disks are (default: this machine). */
  storage?: Storage;
}

/** One candidate that was looked at while resolving a parent, and what came of it. */
export interface ParentAttempt extends ParentCandidate {
  /** `found`, `missing`, `id-mismatch` (with `uniqueId`), or the error code that made the file unusable. */
  result: "found" | "missing" | "id-mismatch" | ErrorName;
  uniqueId?: string;
}

/** How a child found its parent (the writer's `ParentLink` is what a child records; this is what the walk found). */
export interface ParentResolution {
  /** Every candidate tried, in order, the last one being the parent. */
  attempts: ParentAttempt[];
  /**
   * True when the child recorded its parent's modification time and it differs from the parent file's mtime, to the
   * second (a warning only, docs/vhd-format.md §2.3).
   */
  timeStampDiffers: boolean;
}

/** A piece of a sequential read. */
export interface DiskChunk {
  /** Virtual offset of the first byte. */
  offset: number;
  /** The bytes (a view of a buffer reused by a later chunk). */
  bytes: Uint8Array;
  /** True when no layer holds data here: every byte is zero and a sparse consumer may skip it. */
  zero: boolean;
}

/** An open chain: `images[0]` is the leaf, the last one the base (fixed or dynamic). */
export class DiskChain {
  constructor(
    readonly images: readonly DiskImage[],
    /** `links[i]` says how `images[i]` found `images[i + 1]`. */
    readonly links: readonly ParentResolution[],
  ) {}

  /** The disk the chain was opened by. */
  get leaf(): DiskImage {
    return this.images[0] as DiskImage;
  }

  /** The virtual disk size in bytes. */
  get virtualSize(): number {
    return this.leaf.virtualSize;
  }

  /**
   * Reads `length` virtual bytes at `offset`, composed through the chain: each disk's own sectors, else its parent's.
   * @returns `target` (or a new buffer) filled from `targetOffset`.
   * @throws `E_INVALIDARG` when the range is not inside the disk.
   */
  async read(offset: number, length: number, target?: Uint8Array, targetOffset = 0): Promise<Uint8Array> {
    this.checkRange(offset, length);
    const buffer = target ?? new Uint8Array(length);
    await this.compose(0, offset, length, buffer, targetOffset);
    return buffer;
  }

  /**
   * The disk (or a range of it) in order, in pieces of `chunkSize`. The next `readAhead` pieces are read while the
   * caller consumes the current one (`readAhead + 1` buffers in turn), so reading and writing overlap. A chunk's
   * bytes stay valid until the caller asks for the next chunk, then get reused: consume (write) them first. A caller
   * that stops early (`break`, a throw) returns only once the reads in flight have ended, so it may close the chain.
   */
  async *chunks(options: ChunksOptions = {}): AsyncGenerator<DiskChunk> {
    const start = options.offset ?? 0;
    const length = options.length ?? this.virtualSize - start;
    this.checkRange(start, length);
    const end = start + length;
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const readAhead = Math.max(1, options.readAhead ?? DEFAULT_READ_AHEAD);
    // One buffer per chunk in flight plus the one the caller holds; all reused in turn.
    const slots = readAhead + 1;
    const bufferSize = Math.min(chunkSize, length);
    const buffers = Array.from({ length: slots }, () => new Uint8Array(bufferSize));
    // Whether each reused buffer is still all zeros: long unallocated stretches then cost no memset at all.
    const allZero = Array.from({ length: slots }, () => true);
    const readChunk = async (index: number): Promise<DiskChunk> => {
      const offset = start + index * chunkSize;
      const size = Math.min(chunkSize, end - offset);
      const slot = index % slots;
      const buffer = buffers[slot] as Uint8Array;
      const bytes = buffer.subarray(0, size);
      if (allZero[slot] && !(await this.holdsData(0, offset, size))) return { offset, bytes, zero: true };
      const holdsData = await this.compose(0, offset, size, bytes, 0);
      allZero[slot] = !holdsData && size === buffer.length;
      return { offset, bytes, zero: !holdsData };
    };
    const count = Math.ceil(length / chunkSize);
    const pending: Promise<DiskChunk>[] = [];
    let scheduled = 0;
    const readAheadOfCaller = (): void => {
      while (scheduled < count && pending.length < slots) {
        const read = readChunk(scheduled++);
        // A rejected prefetch is reported when awaited; until then it must not count as unhandled.
        read.catch(() => undefined);
        pending.push(read);
      }
    };
    readAheadOfCaller();
    try {
      for (let read = pending.shift(); read !== undefined; read = pending.shift()) {
        yield await read;
        // The caller is done with that chunk's buffer: it can take the next read.
        readAheadOfCaller();
      }
    } finally {
      await Promise.allSettled(pending);
    }
  }

  /**
   * Copies the disk (or a range) into `file`, an EMPTY file open for writing, as a sparse raw image: only the bytes
   * some layer holds are written, each at its offset, and of those no 4 KiB unit that is all zeros (as `qemu-img
   * convert -S 4k`: a fully allocated block of zeros stays a hole too); everything else is left a hole, and the file is then extended
   * to `length`, so it reads back byte-identical to the disk (as `qemu-img convert -O raw` writes it). Several pieces
   * are read at once, out of order, and written one at a time in order, as qemu-img convert does without `-W`: eight
   * concurrent pwrites into one ext4 file spin on its inode lock, and took 2-3x the system time. The pieces read by
   * the time a write ends go out together, in one gathered write (`writeGathered`). For a pipe use
   * {@link chunks} or {@link stream}.
   *
   * @throws `E_INVALIDARG` for a range outside the disk or a target that is not empty (its old bytes would show
   *   through the holes); read errors; write errors (`ERROR_DISK_FULL`, ...); `VM_E_APP_SHUTTING_DOWN` on cancel.
   *   Pieces already written stay written: the caller owns the file and removes it on failure.
   */
  async copyToFile(file: RandomAccessFile, options: CopyToFileOptions = {}): Promise<void> {
    const { path } = file;
    const start = options.offset ?? 0;
    const length = options.length ?? this.virtualSize - start;
    this.checkRange(start, length);
    const { size } = file;
    if (size !== 0) {
      const reason = `the target already holds ${size} bytes, which would show through the holes; give an empty file`;
      throw new VhdError("E_INVALIDARG", reason, { parameter: "target", path });
    }
    const pieceSize = options.pieceSize ?? DEFAULT_COPY_PIECE_SIZE;
    const pieces = Math.ceil(length / pieceSize);
    let nextPiece = 0;
    let bytesDone = 0;
    let failed = false;
    // Reads run concurrently; writes one at a time, in order, the pieces ready by then together (see InOrderWrites).
    const workers = Math.max(1, Math.min(options.workers ?? DEFAULT_COPY_WORKERS, pieces));
    // Half the pieces at most in one write: the other half's buffers are free to be read into meanwhile.
    const writes = new InOrderWrites((position, chunks) => file.writeGathered(position, chunks), Math.ceil(workers / 2));
    const worker = async (): Promise<void> => {
      const buffer = new Uint8Array(Math.min(pieceSize, length));
      for (let piece = nextPiece++; piece < pieces && !failed; piece = nextPiece++) {
        throwIfCancelled(options.signal, { parameter: "target", path });
        const offset = start + piece * pieceSize;
        const bytes = buffer.subarray(0, Math.min(pieceSize, start + length - offset));
        let runs: ByteRange[] = [];
        // Maps only: an unallocated stretch costs neither a read nor a memset.
        if (await this.holdsData(0, offset, bytes.length)) {
          const filled: ByteRange[] = [];
          await this.compose(0, offset, bytes.length, bytes, 0, filled);
          runs = nonZeroRuns(bytes, offset, mergeRanges(filled));
        }
        const positioned = runs.map((range) => ({ position: range.offset - start, bytes: bytes.subarray(range.offset - offset, range.offset - offset + range.length) }));
        if (!(await writes.put(piece, positioned))) return;
        bytesDone += bytes.length;
        options.onProgress?.(bytesDone);
      }
    };
    const outcomes = await Promise.allSettled(
      Array.from({ length: workers }, () =>
        worker().catch((error: unknown) => {
          // The other workers stop taking pieces; every write in flight ends before the caller hears of the error.
          failed = true;
          writes.stop();
          throw error;
        }),
      ),
    );
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
    if (failure !== undefined) throw failure.reason;
    await file.truncate(length);
  }


  /**
   * The parts of `[offset, offset + length)` that one of the top `depth` disks holds (`images[0..depth-1]`: the leaf
   * and the ancestors above `images[depth]`), in order, touching parts merged. Only maps are read. A merge into
   * `images[depth]` copies exactly these.
   */
  async rangesHeldAbove(depth: number, offset: number, length: number): Promise<ByteRange[]> {
    this.checkRange(offset, length);
    const ranges: ByteRange[] = [];
    const walk = async (level: number, start: number, size: number): Promise<void> => {
      const image = this.images[level];
      if (level >= depth || image === undefined) return;
      for (const extent of await image.mapRange(start, size)) {
        if (extent.kind === "data") ranges.push({ offset: extent.offset, length: extent.length });
        else if (extent.kind === "parent") await walk(level + 1, extent.offset, extent.length);
      }
    };
    await walk(0, offset, length);
    return mergeRanges(ranges);
  }

  /** Closes every file of the chain. */
  async close(): Promise<void> {
    await Promise.all(this.images.map((image) => image.close()));
  }

  private checkRange(offset: number, length: number): void {
    const valid = (value: number): boolean => Number.isSafeInteger(value) && value >= 0;
    if (!valid(offset) || !valid(length) || offset + length > this.virtualSize) {
      const offsetValid = valid(offset) && offset <= this.virtualSize;
      throw new VhdError(
        "E_INVALIDARG",
        `the range of ${length} bytes at offset ${offset} is not inside the ${this.virtualSize}-byte virtual disk`,
        {
          parameter: offsetValid ? "length" : "offset",
          value: offsetValid ? length : offset,
          path: this.leaf.path,
          pathParameter: this.leaf.file.parameter,
          details: { offset, length },
        },
      );
    }
  }

  /** True when some layer from `level` down holds data in the range (no data is read, only maps). */
  private async holdsData(level: number, offset: number, length: number): Promise<boolean> {
    const image = this.images[level];
    if (image === undefined) return false;
    for (const extent of await image.mapRange(offset, length)) {
      if (extent.kind === "data") return true;
      if (extent.kind === "parent" && (await this.holdsData(level + 1, extent.offset, extent.length))) return true;
    }
    return false;
  }

  /**
   * Fills `target` from layer `level` down; returns true when any layer supplied data (false: all zeros). The
   * virtual ranges data came from are added to `filled` when given (in no particular order).
   */
  private async compose(
    level: number,
    offset: number,
    length: number,
    target: Uint8Array,
    targetOffset: number,
    filled?: ByteRange[],
  ): Promise<boolean> {
    const image = this.images[level];
    if (image === undefined) {
      target.fill(0, targetOffset, targetOffset + length);
      return false;
    }
    // The extents fill disjoint parts of `target`, so their reads run concurrently (one pread each).
    const supplied = await Promise.all(
      (await image.mapRange(offset, length)).map(async (extent) => {
        const at = targetOffset + (extent.offset - offset);
        if (extent.kind === "data") {
          await image.file.read(extent.fileOffset, extent.length, target, at);
          filled?.push({ offset: extent.offset, length: extent.length });
          return true;
        }
        if (extent.kind === "zero") {
          target.fill(0, at, at + extent.length);
          return false;
        }
        return this.compose(level + 1, extent.offset, extent.length, target, at, filled);
      }),
    );
    return supplied.includes(true);
  }
}

/** Bytes per unit that {@link nonZeroRuns} leaves a hole when all zero: qemu-img convert's default `-S 4k`. */
const SPARSE_UNIT = 4096;

/**
 * The parts of `ranges` (virtual offsets, sorted; `bytes` holds the virtual bytes from `offset`) that are not all
 * zeros, at {@link SPARSE_UNIT} granularity (units counted from virtual byte 0), touching runs joined.
 */
function nonZeroRuns(bytes: Uint8Array, offset: number, ranges: readonly ByteRange[]): ByteRange[] {
  const zeros = Buffer.alloc(SPARSE_UNIT);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const runs: ByteRange[] = [];
  for (const range of ranges) {
    const end = range.offset + range.length;
    for (let unit = range.offset; unit < end; ) {
      const unitEnd = Math.min(end, (Math.floor(unit / SPARSE_UNIT) + 1) * SPARSE_UNIT);
      const length = unitEnd - unit;
      // A unit's first or last byte decides most units without a call into memcmp (262,144 of them per GiB).
      const nonZero = view[unit - offset] !== 0 || view[unitEnd - offset - 1] !== 0 || zeros.compare(view, unit - offset, unitEnd - offset, 0, length) !== 0;
      if (nonZero) {
        const last = runs[runs.length - 1];
        if (last !== undefined && last.offset + last.length === unit) last.length += length;
        else runs.push({ offset: unit, length });
      }
      unit = unitEnd;
    }
  }
  return runs;
}

/** `ranges` sorted by offset, touching ones joined. */
function mergeRanges(ranges: ByteRange[]): ByteRange[] {
  const merged: ByteRange[] = [];
  for (const range of ranges.sort((a, b) => a.offset - b.offset)) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.offset + last.length === range.offset) last.length += range.length;
    else merged.push({ ...range });
  }
  return merged;
}

/** The fingerprint of the regular file at `path` (links followed); `null` when there is none. */
async function regularFileFingerprint(storage: Storage, path: string): Promise<FileFingerprint | null> {
  const facts = await storage.pathFacts(path, { followLinks: true }).catch(() => null);
  return facts?.kind === "file" ? storage.fingerprint(path).catch(() => null) : null;
}

/**
 * Finds and opens the parent of `child`, the last of `chain` (the disks opened so far, leaf first), or explains why
 * it cannot. A disk of the chain is never a candidate: a linked clone named like its parent (`vm/disk.vhd` off
 * `box/disk.vhd`) would otherwise find itself by the parent's name once the parent is gone. Only when such a disk
 * carries the id the child records is it the parent, and the chain loops.
 */
async function openParent(
  child: DiskImage,
  reference: ParentReference,
  chain: readonly DiskImage[],
  options: OpenChainOptions & { storage: Storage; identities: Map<DiskImage, string> },
): Promise<{ parent: DiskImage; link: ParentResolution }> {
  const attempts: ParentAttempt[] = [];
  let unusable: VhdError | undefined;
  for (const candidate of reference.candidates) {
    const fingerprint = await regularFileFingerprint(options.storage, candidate.path);
    if (fingerprint === null) {
      attempts.push({ ...candidate, result: "missing" });
      continue;
    }
    // A fingerprint that names no file (SFTP's fallback) would match every disk of the chain: loops are then left
    // to the walk's depth bound.
    const member = identifiesFile(fingerprint) ? await chainMemberAt(chain, fileIdentity(fingerprint), options.identities) : undefined;
    if (member !== undefined) {
      if (acceptsParentId(reference, member.uniqueId)) throw chainLoops(child, member, chain, options.storage);
      continue;
    }
    let parent: DiskImage;
    try {
      parent = await openDisk(candidate.path, {
        strict: options.strict ?? false,
        mapsOnDemand: options.mapsOnDemand ?? false,
        drivers: options.drivers,
        storage: options.storage,
      });
    } catch (error) {
      if (!isVhdError(error)) throw error;
      attempts.push({ ...candidate, result: error.code });
      unusable ??= error;
      continue;
    }
    if (!acceptsParentId(reference, parent.uniqueId)) {
      attempts.push({ ...candidate, result: "id-mismatch", uniqueId: parent.uniqueId });
      await parent.close();
      continue;
    }
    options.identities.set(parent, fileIdentity(fingerprint));
    attempts.push({ ...candidate, result: "found" });
    const recorded = reference.recordedModifiedTime;
    const mtime = modifiedDate(fingerprint).getTime();
    const timeStampDiffers = recorded !== null && Math.floor(recorded.getTime() / 1000) !== Math.floor(mtime / 1000);
    return { parent, link: { attempts, timeStampDiffers } };
  }
  throw parentNotFound(child, reference, attempts, unusable, options.storage);
}

/**
 * The disk of `chain` that is the file with `identity`, if any. A parent's identity is its fingerprint's, taken when
 * it was a candidate (`identities`); only the leaf's is asked of its open file, which costs a remote host a command.
 */
async function chainMemberAt(chain: readonly DiskImage[], identity: string, identities: Map<DiskImage, string>): Promise<DiskImage | undefined> {
  for (const image of chain) {
    let known = identities.get(image);
    if (known === undefined) {
      known = await image.file.identity();
      identities.set(image, known);
    }
    if (known === identity) return image;
  }
  return undefined;
}

/** The errors below name the files in their text as `storage` names them for a person (a remote one by its URL). */
function chainLoops(child: DiskImage, parent: DiskImage, chain: readonly DiskImage[], storage: Storage): VhdError {
  return new VhdError(
    "ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED",
    `${storage.describe(child.path)} names ${storage.describe(parent.path)} as its parent, which is already in the chain: the chain loops`,
    { parameter: child.file.parameter, path: child.path, details: { chain: [...chain, parent].map((image) => image.path) } },
  );
}

function parentNotFound(
  child: DiskImage,
  { uniqueId: expectedId, name }: ParentReference,
  attempts: ParentAttempt[],
  unusable: VhdError | undefined,
  storage: Storage,
): VhdError {
  const tried = attempts.map((attempt) => `${storage.describe(attempt.path)} (${attempt.source}: ${attempt.result})`).join("; ");
  const details = { expectedParentId: expectedId, parentName: name, tried: attempts };
  const mismatched = attempts.filter((attempt) => attempt.result === "id-mismatch");
  if (mismatched.length > 0) {
    return new VhdError(
      "ERROR_VHD_CHILD_PARENT_ID_MISMATCH",
      `no parent with the unique id ${expectedId} that this differencing disk records: ` +
        `${mismatched.map((attempt) => `${storage.describe(attempt.path)} has ${attempt.uniqueId}`).join("; ")}. Tried: ${tried}. ` +
        "The parent was replaced or changed since the child was made; restore it or re-create the child",
      { parameter: child.file.parameter, path: child.path, details },
    );
  }
  if (unusable !== undefined) {
    return new VhdError(
      "ERROR_VHD_DIFFERENCING_CHAIN_ERROR_IN_PARENT",
      `the parent ${unusable.path === undefined ? "" : storage.describe(unusable.path)} cannot be read: ${unusable.reason}. Tried: ${tried}`,
      { parameter: child.file.parameter, path: child.path, cause: unusable, details },
    );
  }
  return new VhdError(
    "ERROR_VHD_PARENT_VHD_NOT_FOUND",
    `the parent disk "${name}" (unique id ${expectedId}) was not found. Tried: ${tried || "no candidate paths"}. ` +
      "Put the parent next to the child under its recorded name",
    { parameter: child.file.parameter, path: child.path, details },
  );
}

/**
 * Opens `path` and every ancestor down to its base.
 *
 * @throws the leaf's open errors; for a parent: `ERROR_VHD_PARENT_VHD_NOT_FOUND` / `ERROR_VHD_CHILD_PARENT_ID_MISMATCH`
 *   (naming the child, the expected id and every path tried, in `details.tried`),
 *   `ERROR_VHD_DIFFERENCING_CHAIN_ERROR_IN_PARENT` (a parent candidate is not a valid VHD),
 *   `ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH`, `ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED`,
 *   `ERROR_VIRTUAL_DISK_LIMITATION` (deeper than `maxDepth`).
 */
export async function openChain(path: string, options: OpenChainOptions = {}): Promise<DiskChain> {
  const leaf = await openDisk(path, {
    strict: options.strict ?? false,
    mapsOnDemand: options.mapsOnDemand ?? false,
    parameter: options.parameter,
    drivers: options.drivers,
    storage: options.storage,
  });
  try {
    return await openChainFrom(leaf, options);
  } catch (error) {
    await leaf.close();
    throw error;
  }
}

/**
 * Opens every ancestor of `leaf`, an image already open, into a chain: for a caller that needs the leaf whether or
 * not its parents resolve (`inspectDisk`), so the leaf is opened (its BAT read and checked) once. On success the
 * chain owns `leaf` (closing the chain closes it); on failure the caller still owns `leaf` and must close it.
 *
 * @throws what {@link openChain} throws for a parent.
 */
export async function openChainFrom(leaf: DiskImage, options: OpenChainOptions = {}): Promise<DiskChain> {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_CHAIN_DEPTH;
  const storage = options.storage ?? localStorage;
  const images: DiskImage[] = [leaf];
  const links: ParentResolution[] = [];
  const identities = new Map<DiskImage, string>();
  try {
    for (let child = leaf, reference = child.parentReference(); reference !== null; reference = child.parentReference()) {
      if (images.length >= maxDepth) {
        throw new VhdError("ERROR_VIRTUAL_DISK_LIMITATION", `the chain is deeper than ${maxDepth} disks`, {
          parameter: leaf.file.parameter,
          path: leaf.path,
          details: { maxDepth, chain: images.map((image) => image.path) },
        });
      }
      const { parent, link } = await openParent(child, reference, images, { ...options, storage, identities });
      images.push(parent);
      links.push(link);
      checkLink(child, parent);
      child = parent;
    }
    return new DiskChain(images, links);
  } catch (error) {
    await Promise.all(images.slice(1).map((image) => image.close()));
    throw error;
  }
}

/**
 * What a child and the parent it found must share beyond the identity: the format (a VHDX child off a VHD parent,
 * or the reverse, is refused, as Hyper-V refuses it) and the virtual size.
 * @throws `ERROR_VHD_INVALID_TYPE` (mixed formats), `ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH`.
 */
function checkLink(child: DiskImage, parent: DiskImage): void {
  if (parent.format !== child.format) {
    throw new VhdError(
      "ERROR_VHD_INVALID_TYPE",
      `the ${child.format.toUpperCase()} child ${child.path} names the ${parent.format.toUpperCase()} disk ${parent.path} ` +
        "as its parent: a chain never mixes VHD and VHDX. Convert the parent (`vhd convert`) and re-create the child",
      {
        parameter: child.file.parameter,
        path: child.path,
        details: { childFormat: child.format, parentFormat: parent.format, parentPath: parent.path },
      },
    );
  }
  if (parent.virtualSize !== child.virtualSize) {
    throw new VhdError(
      "ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH",
      `the child is ${child.virtualSize} bytes but its parent ${parent.path} is ${parent.virtualSize}`,
      {
        parameter: child.file.parameter,
        path: child.path,
        details: { childSize: child.virtualSize, parentSize: parent.virtualSize, parentPath: parent.path },
      },
    );
  }
}
