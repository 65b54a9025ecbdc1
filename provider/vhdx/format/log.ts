/**
 * The log (MS-VHDX §2.3): entry codecs and the search for the active sequence (§2.3.3), pure over the log region's
 * bytes. Everything is bounded by the number of 4 KiB sectors in the log: a log whose entries loop, or claim more
 * than the log holds, ends the search instead of running forever.
 */
import { decodeLayout, encodeLayout, fieldOf, type LayoutRecord } from "../../vhd/format/field";
import { checksumWithFieldZeroed, stampCrc32c, storedChecksum } from "./crc32c";
import { LOG_SECTOR_SIZE } from "./layout";
import {
  LOG_DATA_DESCRIPTOR_LAYOUT,
  LOG_DATA_SECTOR_LAYOUT,
  LOG_ENTRY_HEADER_LAYOUT,
  LOG_ZERO_DESCRIPTOR_LAYOUT,
  SIGNATURES,
} from "./structures";

export type LogEntryHeader = LayoutRecord<typeof LOG_ENTRY_HEADER_LAYOUT.fields>;

/** One update a log entry carries: `data` (4 KiB) at `fileOffset`, or `zeroLength` zero bytes there. */
export type LogWrite = { fileOffset: number; data: Uint8Array } | { fileOffset: number; zeroLength: number };

/** A valid log entry: its header, where it starts in the log, and its updates in order. */
export interface LogEntry {
  header: LogEntryHeader;
  /** Byte offset of the entry inside the log region. */
  logOffset: number;
  writes: LogWrite[];
}

const DESCRIPTOR_SIZE = LOG_ZERO_DESCRIPTOR_LAYOUT.size;
/** The entry header takes the first two descriptor slots of the first sector (§2.3.1). */
const HEADER_SLOTS = LOG_ENTRY_HEADER_LAYOUT.size / DESCRIPTOR_SIZE;
const SLOTS_PER_SECTOR = LOG_SECTOR_SIZE / DESCRIPTOR_SIZE;
const ENTRY_CHECKSUM = fieldOf(LOG_ENTRY_HEADER_LAYOUT, "checksum").offset;
const TWO_32 = 2 ** 32;

/** `length` bytes of the ring `log` from `offset`, wrapping at its end (§2.3: the log is circular). */
function ringSlice(log: Uint8Array, offset: number, length: number): Uint8Array {
  const start = offset % log.length;
  if (start + length <= log.length) return log.subarray(start, start + length);
  const bytes = new Uint8Array(length);
  const first = log.length - start;
  bytes.set(log.subarray(start), 0);
  bytes.set(log.subarray(0, length - first), first);
  return bytes;
}

/**
 * Decodes and validates the entry at `logOffset` (§2.3.1): signature, LogGuid, lengths, CRC-32C over the entry,
 * every descriptor's and data sector's signature and sequence number. Undefined when anything fails: an invalid
 * entry is not part of any sequence.
 */
export function decodeLogEntry(log: Uint8Array, logOffset: number, logGuid: string): LogEntry | undefined {
  if (logOffset % LOG_SECTOR_SIZE !== 0 || logOffset >= log.length) return undefined;
  const header = decodeLayout(LOG_ENTRY_HEADER_LAYOUT, ringSlice(log, logOffset, LOG_ENTRY_HEADER_LAYOUT.size));
  const { entryLength, descriptorCount, sequenceNumber, tail } = header;
  if (header.signature !== SIGNATURES.logEntry || header.logGuid !== logGuid || sequenceNumber === 0) return undefined;
  if (entryLength === 0 || entryLength % LOG_SECTOR_SIZE !== 0 || entryLength > log.length) return undefined;
  if (tail % LOG_SECTOR_SIZE !== 0 || tail >= log.length) return undefined;
  const descriptorSectors = Math.ceil((descriptorCount + HEADER_SLOTS) / SLOTS_PER_SECTOR);
  if (descriptorSectors * LOG_SECTOR_SIZE > entryLength) return undefined;
  const entry = ringSlice(log, logOffset, entryLength);
  if (storedChecksum(entry, ENTRY_CHECKSUM) !== checksumWithFieldZeroed(entry, ENTRY_CHECKSUM)) return undefined;

  const writes: LogWrite[] = [];
  let dataSector = descriptorSectors;
  for (let index = 0; index < descriptorCount; index++) {
    const slot = index + HEADER_SLOTS;
    const at = slot * DESCRIPTOR_SIZE;
    const signature = Buffer.from(entry.subarray(at, at + 4)).toString("latin1");
    if (signature === SIGNATURES.zeroDescriptor) {
      const zero = decodeLayout(LOG_ZERO_DESCRIPTOR_LAYOUT, entry.subarray(at));
      if (zero.sequenceNumber !== sequenceNumber) return undefined;
      writes.push({ fileOffset: zero.fileOffset, zeroLength: zero.zeroLength });
    } else if (signature === SIGNATURES.dataDescriptor) {
      const descriptor = decodeLayout(LOG_DATA_DESCRIPTOR_LAYOUT, entry.subarray(at));
      if (descriptor.sequenceNumber !== sequenceNumber || (dataSector + 1) * LOG_SECTOR_SIZE > entryLength) {
        return undefined;
      }
      const sector = decodeLayout(LOG_DATA_SECTOR_LAYOUT, entry.subarray(dataSector * LOG_SECTOR_SIZE));
      dataSector++;
      if (
        sector.signature !== SIGNATURES.dataSector ||
        sector.sequenceHigh * TWO_32 + sector.sequenceLow !== sequenceNumber
      ) {
        return undefined;
      }
      const data = new Uint8Array(LOG_SECTOR_SIZE);
      data.set(descriptor.leadingBytes, 0);
      data.set(sector.data, descriptor.leadingBytes.length);
      data.set(descriptor.trailingBytes, LOG_SECTOR_SIZE - descriptor.trailingBytes.length);
      writes.push({ fileOffset: descriptor.fileOffset, data });
    } else {
      return undefined;
    }
  }
  if (dataSector * LOG_SECTOR_SIZE !== entryLength) return undefined;
  return { header, logOffset, writes };
}

/**
 * The active sequence of the log (§2.3.3): among the runs of valid entries, each following the previous one in the
 * ring with the next sequence number, the one whose head has the highest sequence number and whose head's Tail
 * names an entry of the run. Returns its entries from that tail to the head (the replay order), or an empty list
 * when the log holds no such run (nothing to replay).
 */
export function findActiveSequence(log: Uint8Array, logGuid: string): LogEntry[] {
  const sectors = Math.floor(log.length / LOG_SECTOR_SIZE);
  const insideRun = new Set<number>();
  let best: LogEntry[] = [];
  for (let sector = 0; sector < sectors; sector++) {
    const start = sector * LOG_SECTOR_SIZE;
    if (insideRun.has(start)) continue;
    const run: LogEntry[] = [];
    let entry = decodeLogEntry(log, start, logGuid);
    // No run can hold more entries than the log has sectors; the bound stops a ring of entries that loops.
    while (entry !== undefined && run.length < sectors) {
      run.push(entry);
      if (run.length > 1) insideRun.add(entry.logOffset);
      const next = decodeLogEntry(log, (entry.logOffset + entry.header.entryLength) % log.length, logGuid);
      entry = next !== undefined && next.header.sequenceNumber === entry.header.sequenceNumber + 1 ? next : undefined;
    }
    const head = run[run.length - 1];
    if (head === undefined) continue;
    const tailIndex = run.findIndex((candidate) => candidate.logOffset === head.header.tail);
    const bestHead = best[best.length - 1];
    if (tailIndex >= 0 && (bestHead === undefined || head.header.sequenceNumber > bestHead.header.sequenceNumber)) {
      best = run.slice(tailIndex);
    }
  }
  return best;
}

/** What one entry to encode carries (tests and a future log writer). */
export interface LogEntryInit {
  logGuid: string;
  sequenceNumber: number;
  /** Byte offset, inside the log, of the oldest entry still needed (this entry's own offset for a lone entry). */
  tail: number;
  flushedFileOffset: number;
  lastFileOffset: number;
  writes: readonly LogWrite[];
}

/** Encodes one log entry: header and descriptors, then the data sectors, with its CRC-32C (§2.3.1). */
export function encodeLogEntry(init: LogEntryInit): Uint8Array {
  const dataWrites = init.writes.filter((write): write is { fileOffset: number; data: Uint8Array } => "data" in write);
  const descriptorSectors = Math.ceil((init.writes.length + HEADER_SLOTS) / SLOTS_PER_SECTOR);
  const entryLength = (descriptorSectors + dataWrites.length) * LOG_SECTOR_SIZE;
  const bytes = new Uint8Array(entryLength);
  const sequenceHigh = Math.floor(init.sequenceNumber / TWO_32);
  const sequenceLow = init.sequenceNumber % TWO_32;
  bytes.set(
    encodeLayout(LOG_ENTRY_HEADER_LAYOUT, {
      signature: SIGNATURES.logEntry,
      checksum: 0,
      entryLength,
      tail: init.tail,
      sequenceNumber: init.sequenceNumber,
      descriptorCount: init.writes.length,
      logGuid: init.logGuid,
      flushedFileOffset: init.flushedFileOffset,
      lastFileOffset: init.lastFileOffset,
    }),
  );
  let dataSector = descriptorSectors;
  init.writes.forEach((write, index) => {
    const at = (index + HEADER_SLOTS) * DESCRIPTOR_SIZE;
    if ("zeroLength" in write) {
      bytes.set(
        encodeLayout(LOG_ZERO_DESCRIPTOR_LAYOUT, {
          signature: SIGNATURES.zeroDescriptor,
          zeroLength: write.zeroLength,
          fileOffset: write.fileOffset,
          sequenceNumber: init.sequenceNumber,
        }),
        at,
      );
      return;
    }
    bytes.set(
      encodeLayout(LOG_DATA_DESCRIPTOR_LAYOUT, {
        signature: SIGNATURES.dataDescriptor,
        trailingBytes: write.data.subarray(LOG_SECTOR_SIZE - 4, LOG_SECTOR_SIZE),
        leadingBytes: write.data.subarray(0, 8),
        fileOffset: write.fileOffset,
        sequenceNumber: init.sequenceNumber,
      }),
      at,
    );
    bytes.set(
      encodeLayout(LOG_DATA_SECTOR_LAYOUT, {
        signature: SIGNATURES.dataSector,
        sequenceHigh,
        data: write.data.subarray(8, LOG_SECTOR_SIZE - 4),
        sequenceLow,
      }),
      dataSector * LOG_SECTOR_SIZE,
    );
    dataSector++;
  });
  stampCrc32c(bytes, ENTRY_CHECKSUM);
  return bytes;
}
