/**
 * The bytes of a new dynamic or differencing file before any block is allocated (SPEC: "no blocks are allocated
 * initially"; docs/vhd-format.md §3 "A fresh differencing disk"): head footer copy, dynamic header, an all-unused BAT,
 * locator data, tail footer. The layout is `planDynamicFile`'s (format/layout.ts).
 */
import type { RandomAccessFile } from "../../storage/port";
import {
  DYNAMIC_HEADER_COOKIE,
  DYNAMIC_HEADER_VERSION,
  SECTOR_SIZE,
  BAT_ENTRY_SIZE,
  UNUSED_BAT_ENTRY,
  encodeBat,
  encodeDynamicHeader,
  encodeFooter,
  encodeLocatorData,
  planDynamicFile,
  type DynamicFilePlan,
  type DynamicHeader,
  type Footer,
  type ParentLocatorEntry,
} from "../format";
import type { ParentLink } from "./parent-link";

/** Bytes to write at one offset of a file. */
export interface FilePiece {
  offset: number;
  bytes: Uint8Array;
}

/** A new file's bytes and the structures they hold. */
export interface EmptyDynamicFile {
  /**
   * The whole file as pieces in file order, each to be written at its offset (see {@link writePieces}). The BAT
   * pieces are views of one shared, read-only buffer: never modify them.
   */
  pieces: FilePiece[];
  /** The file's size. */
  size: number;
  header: DynamicHeader;
  plan: DynamicFilePlan;
}

const NO_PARENT_ID = new Uint8Array(16);
const BAT_ENTRIES_PER_SECTOR = SECTOR_SIZE / BAT_ENTRY_SIZE;
const UNUSED_BAT_RUN_SIZE = 1024 * 1024;
let unusedBatRun: Uint8Array | undefined;

/**
 * 1 MiB of an all-unused BAT, made once per process and shared by every new file. A 2040 GiB disk has a 4 MB BAT:
 * encoding its million entries one by one (~16 ms), or even filling fresh memory for it (~1 ms of page faults),
 * costs about as much as writing the whole child, so the BAT is written from this one warm buffer instead. Every
 * sector of an all-unused BAT is the same, so one encoded sector is repeated.
 */
function unusedBatRunBytes(): Uint8Array {
  if (unusedBatRun === undefined) {
    const sector = encodeBat(new Uint32Array(BAT_ENTRIES_PER_SECTOR).fill(UNUSED_BAT_ENTRY));
    unusedBatRun = Buffer.alloc(UNUSED_BAT_RUN_SIZE).fill(sector);
  }
  return unusedBatRun;
}

/** The pieces of an all-unused BAT of `entries` entries at `offset`; the last, partial sector encoded on its own. */
function unusedBatPieces(offset: number, entries: number, batBytes: number): FilePiece[] {
  const run = unusedBatRunBytes();
  const lastEntries = entries % BAT_ENTRIES_PER_SECTOR;
  const wholeSectorBytes = lastEntries > 0 ? batBytes - SECTOR_SIZE : batBytes;
  const pieces: FilePiece[] = [];
  for (let done = 0; done < wholeSectorBytes; done += run.length) {
    pieces.push({ offset: offset + done, bytes: run.subarray(0, Math.min(run.length, wholeSectorBytes - done)) });
  }
  if (lastEntries > 0) {
    pieces.push({ offset: offset + wholeSectorBytes, bytes: encodeBat(new Uint32Array(lastEntries).fill(UNUSED_BAT_ENTRY)) });
  }
  return pieces;
}

/**
 * Writes every piece at its offset, all at once: they never overlap, a new file's metadata is a few MiB at most (a
 * 2040 GiB disk's BAT), and on a remote host writes sent together share their round trips.
 */
export async function writePieces(file: RandomAccessFile, pieces: readonly FilePiece[]): Promise<void> {
  await Promise.all(pieces.map((piece) => file.write(piece.offset, piece.bytes)));
}

/**
 * Encodes the empty file for `footer` (a dynamic or differencing footer): a dynamic disk when `parentLink` is absent,
 * a differencing one (locator data right after the BAT) when it is given.
 */
export function encodeEmptyDynamicFile(footer: Footer, blockSize: number, parentLink?: ParentLink): EmptyDynamicFile {
  const locators = parentLink?.locators ?? [];
  const plan = planDynamicFile({
    virtualSize: footer.currentSize,
    blockSize,
    locatorDataSpaces: locators.map((locator) => locator.dataSpace),
  });
  const locatorData = locators.map((locator) => encodeLocatorData(locator.code, locator.path));
  const locatorEntries: ParentLocatorEntry[] = locators.map((locator, slot) => ({
    platformCode: locator.code,
    platformDataSpace: locator.dataSpace,
    platformDataLength: locatorData[slot]?.length ?? 0,
    platformDataOffset: plan.locatorOffsets[slot] ?? 0,
  }));
  const header: DynamicHeader = {
    cookie: DYNAMIC_HEADER_COOKIE,
    dataOffset: null,
    tableOffset: plan.tableOffset,
    headerVersion: DYNAMIC_HEADER_VERSION,
    maxTableEntries: plan.maxTableEntries,
    blockSize,
    parentUniqueId: parentLink?.parentUniqueId ?? NO_PARENT_ID,
    parentTimeStamp: parentLink?.parentTimeStamp ?? 0,
    parentUnicodeName: parentLink?.parentUnicodeName ?? "",
    locators: locatorEntries,
  };

  const footerBytes = encodeFooter(footer);
  const head = new Uint8Array(plan.tableOffset);
  head.set(footerBytes, 0);
  head.set(encodeDynamicHeader(header), plan.headerOffset);
  const batEnd = plan.tableOffset + plan.batBytes;
  const tail = new Uint8Array(plan.emptyFileSize - batEnd);
  locatorData.forEach((data, slot) => tail.set(data, (plan.locatorOffsets[slot] ?? 0) - batEnd));
  tail.set(footerBytes, plan.firstBlockOffset - batEnd);
  const pieces = [
    { offset: 0, bytes: head },
    ...unusedBatPieces(plan.tableOffset, plan.maxTableEntries, plan.batBytes),
    { offset: batEnd, bytes: tail },
  ];
  return {
    pieces,
    size: plan.emptyFileSize,
    header,
    plan,
  };
}
