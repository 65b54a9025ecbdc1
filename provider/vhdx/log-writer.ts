/**
 * Metadata changes through the VHDX log (MS-VHDX §2.3; docs/vhdx-format.md §2): a writer MUST route BAT (and
 * sector-bitmap) updates through it. The changes of one write call are gathered as whole 4 KiB sectors
 * ({@link SectorUpdates}), then committed under one LogGuid: the headers name a new LogGuid once, before any log
 * space is written (§2.2.2; the write session's own header update does it, with its new FileWriteGuid and
 * DataWriteGuid); per entry, the entry written at the log's start and flushed (from here a reader replays it), its
 * sectors written in place and flushed; once all are applied, the LogGuid cleared (an empty log again, as qemu's
 * `vhdx_log_flush` leaves it, so that qemu opens the file read-only). Two header updates per call, whatever the
 * number of entries. A crash at any step leaves the file reading as before the entry (it is torn, or not yet
 * written, or an earlier entry of the call was applied already) or as after it (a reader replays it; replaying an
 * applied entry again changes nothing), and a writer opening it replays it into the file first
 * ({@link replayIntoFile}), as the spec requires.
 */
import { randomUUID } from "node:crypto";
import type { RandomAccessFile } from "../storage/random-access-file";
import { encodeHeader, encodeLogEntry, HEADER_OFFSETS, LOG_SECTOR_SIZE, NIL_GUID, type Header, type LogEntry } from "./format";

/** A header as written (signature and checksum are the encoder's), and the slot (0: 64 KiB, 1: 128 KiB) now current. */
export interface HeaderState {
  header: Omit<Header, "signature" | "checksum">;
  slot: 0 | 1;
}

/** What may change in a header update (§2.2.2): the GUIDs; the sequence number is the writer's. */
export type HeaderChange = Partial<Pick<Header, "fileWriteGuid" | "dataWriteGuid" | "logGuid">>;

/**
 * Updates both headers (§2.2.2): the non-current copy with the next sequence number, flushed, then the other, flushed,
 * so both end current and equal (libvhdi takes the higher sequence without checking CRCs, docs/vhdx-format.md §1.2).
 * A crash between leaves one valid header with the change, the current one.
 * @returns the state after the update (the same slot current as before).
 */
export async function updateHeaders(file: RandomAccessFile, state: HeaderState, change: HeaderChange): Promise<HeaderState> {
  let header = state.header;
  for (const slot of [1 - state.slot, state.slot] as const) {
    header = { ...header, ...change, sequenceNumber: header.sequenceNumber + 1 };
    await file.write(HEADER_OFFSETS[slot] ?? 0, encodeHeader(header));
    await file.sync();
  }
  return { header, slot: state.slot };
}

/**
 * Metadata sectors a write call changes, held in memory until {@link commitThroughLog}: each a whole 4 KiB sector
 * of the file (the log's unit, §2.3.1.3), read from the file on first touch. Reads see the pending changes.
 */
export class SectorUpdates {
  private readonly sectors = new Map<number, Uint8Array>();

  constructor(private readonly file: RandomAccessFile) {}

  get size(): number {
    return this.sectors.size;
  }

  /** `length` bytes at file offset `offset`, with the pending changes laid over the file's bytes. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(length);
    await this.eachSector(offset, length, (sector, inSector, at, count) => bytes.set(sector.subarray(inSector, inSector + count), at));
    return bytes;
  }

  /** Records `bytes` at file offset `offset` as pending (nothing is written to the file). */
  async write(offset: number, bytes: Uint8Array): Promise<void> {
    await this.eachSector(offset, bytes.length, (sector, inSector, at, count) => sector.set(bytes.subarray(at, at + count), inSector));
  }

  /** The pending sectors, by file offset: the writes of a log entry. */
  writes(): { fileOffset: number; data: Uint8Array }[] {
    return [...this.sectors.entries()].sort(([a], [b]) => a - b).map(([fileOffset, data]) => ({ fileOffset, data }));
  }

  private async eachSector(
    offset: number,
    length: number,
    visit: (sector: Uint8Array, inSector: number, at: number, count: number) => void,
  ): Promise<void> {
    for (let position = offset; position < offset + length; ) {
      const start = Math.floor(position / LOG_SECTOR_SIZE) * LOG_SECTOR_SIZE;
      let sector = this.sectors.get(start);
      if (sector === undefined) {
        sector = Uint8Array.from(await this.file.read(start, LOG_SECTOR_SIZE));
        this.sectors.set(start, sector);
      }
      const count = Math.min(start + LOG_SECTOR_SIZE, offset + length) - position;
      visit(sector, position - start, position - offset, count);
      position += count;
    }
  }
}

/** Descriptor slots (32 bytes) per 4 KiB sector, and the two the entry header takes (§2.3.1.1). */
const SLOTS_PER_SECTOR = LOG_SECTOR_SIZE / 32;
const HEADER_SLOTS = 2;

/** The most data sectors one entry carries in a log of `logLength` bytes (its descriptor sectors counted). */
export function sectorsPerEntry(logLength: number): number {
  const logSectors = Math.floor(logLength / LOG_SECTOR_SIZE);
  let count = logSectors - 1;
  while (count > 0 && count + Math.ceil((count + HEADER_SLOTS) / SLOTS_PER_SECTOR) > logSectors) count--;
  return count;
}

/**
 * Writes entry `sequenceNumber` of the log, carrying `writes`, at the start of the log, and flushes it: from here a
 * reader replays it. The headers name a new LogGuid first when they name none (§2.2.2: before any log space is
 * written). Each entry is its own tail: the entries before it in the call were applied and flushed in place, so it
 * alone is the active sequence; it overwrites the one before it, which a torn write leaves invalid, never half-read.
 * @returns the header state naming the entry's LogGuid.
 */
export async function writeLogEntry(
  file: RandomAccessFile,
  state: HeaderState,
  writes: readonly { fileOffset: number; data: Uint8Array }[],
  sequenceNumber = 1,
): Promise<HeaderState> {
  const named = state.header.logGuid === NIL_GUID ? await updateHeaders(file, state, { logGuid: randomUUID() }) : state;
  // The file's length now, after every data block of the call was allocated and flushed (§2.3.1.1).
  const fileLength = file.size;
  const { logGuid, logOffset } = named.header;
  const entry = encodeLogEntry({ logGuid, sequenceNumber, tail: 0, flushedFileOffset: fileLength, lastFileOffset: fileLength, writes });
  await file.write(logOffset, entry);
  await file.sync();
  return named;
}

/**
 * Commits `updates` through the log: per entry (as many sectors as the log holds, {@link sectorsPerEntry}), the entry
 * written ({@link writeLogEntry}, sequence numbers from 1 under the headers' LogGuid, named first when `state` names
 * none), its sectors written in place and flushed; then the LogGuid cleared. A call whose updates need several
 * entries is atomic per entry; each entry only points at data already in the file.
 * @returns the header state afterwards (LogGuid zero).
 */
export async function commitThroughLog(file: RandomAccessFile, state: HeaderState, updates: SectorUpdates): Promise<HeaderState> {
  const writes = updates.writes();
  const perEntry = sectorsPerEntry(state.header.logLength);
  let current = state;
  for (let first = 0, sequence = 1; first < writes.length; first += perEntry, sequence++) {
    const batch = writes.slice(first, first + perEntry);
    current = await writeLogEntry(file, current, batch, sequence);
    for (const write of batch) await file.write(write.fileOffset, write.data);
    await file.sync();
  }
  return current.header.logGuid === NIL_GUID ? current : updateHeaders(file, current, { logGuid: NIL_GUID });
}

/**
 * Replays the active sequence `entries` (as the reader found it, tail first) into the file (§2.3.3): every update
 * written in order, the file extended to the head's LastFileOffset, flushed, then the LogGuid cleared. Replaying
 * twice is harmless, so a crash here is too.
 * @returns the header state afterwards (LogGuid zero).
 */
export async function replayIntoFile(file: RandomAccessFile, state: HeaderState, entries: readonly LogEntry[]): Promise<HeaderState> {
  const head = entries[entries.length - 1];
  if (head === undefined) return state;
  if (file.size < head.header.lastFileOffset) await file.truncate(head.header.lastFileOffset);
  for (const write of entries.flatMap((entry) => entry.writes)) {
    await file.write(write.fileOffset, "data" in write ? write.data : new Uint8Array(write.zeroLength));
  }
  await file.sync();
  return updateHeaders(file, state, { logGuid: NIL_GUID });
}
