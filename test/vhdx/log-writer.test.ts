/**
 * The log writer (provider/vhdx/log-writer.ts): pending sectors read back as changed, an entry sized to the log,
 * a commit larger than the log split into entries that each land, and an entry left live (a crash before it is
 * applied) read through by our reader and replayed into the file by the next write.
 */
import { expect, test } from "vitest";
import { MemoryFile, SimulatedCrash } from "../../provider/storage/memory/memory-file";
import { encodeLogEntry, HEADER_OFFSETS, LOG_SECTOR_SIZE, MIB, NIL_GUID } from "../../provider/vhdx/format";
import { commitThroughLog, sectorsPerEntry, SectorUpdates, writeLogEntry, type HeaderState } from "../../provider/vhdx/log-writer";
import { openVhdx } from "../../provider/vhdx/reader";
import { writeVhdxAt, writeVhdxBase } from "../../provider/vhdx/writer";
import { countingFile, headerWrites, newTraffic, type FileTraffic } from "./support";

const SIZE = 8 * MIB;

async function fixedBase(): Promise<MemoryFile> {
  const file = new MemoryFile("fixed.vhdx", new Uint8Array(0));
  await writeVhdxBase(file, { kind: "fixed", virtualSize: SIZE, blockSize: MIB });
  return new MemoryFile("fixed.vhdx", file.bytes);
}

async function headersOf(file: MemoryFile): Promise<HeaderState> {
  const image = await openVhdx(file);
  return { header: image.header, slot: image.headerSlot };
}

/** The file offset of virtual byte 0 of the fixed disk (its first block). */
async function firstBlockOffset(file: MemoryFile): Promise<number> {
  const image = await openVhdx(file);
  return image.payloadEntry(0).fileOffset;
}

test("pending sectors read back changed; the file is untouched until the commit", async () => {
  const file = await fixedBase();
  const before = Uint8Array.from(file.bytes);
  const updates = new SectorUpdates(file);
  await updates.write(LOG_SECTOR_SIZE * 3 - 2, Uint8Array.of(1, 2, 3, 4));
  expect(updates.size).toBe(2);
  expect([...(await updates.read(LOG_SECTOR_SIZE * 3 - 3, 6))]).toEqual([before[LOG_SECTOR_SIZE * 3 - 3], 1, 2, 3, 4, before[LOG_SECTOR_SIZE * 3 + 2]]);
  expect(Buffer.from(file.bytes).equals(Buffer.from(before))).toBe(true);
});

test("an entry of sectorsPerEntry data sectors fills a 1 MiB log exactly", () => {
  const count = sectorsPerEntry(MIB);
  const writes = Array.from({ length: count }, (_, index) => ({ fileOffset: index * LOG_SECTOR_SIZE, data: new Uint8Array(LOG_SECTOR_SIZE) }));
  const entry = encodeLogEntry({ logGuid: "11111111-2222-3333-4444-555555555555", sequenceNumber: 1, tail: 0, flushedFileOffset: 0, lastFileOffset: 0, writes });
  expect(entry.length).toBeLessThanOrEqual(MIB);
  expect(encodeLogEntry({ logGuid: NIL_GUID, sequenceNumber: 1, tail: 0, flushedFileOffset: 0, lastFileOffset: 0, writes: [...writes, ...writes.slice(0, 1)] }).length).toBeGreaterThan(MIB);
});

test("a commit larger than the log goes through several entries, each applied, and leaves the log empty", async () => {
  const file = await fixedBase();
  const at = await firstBlockOffset(file);
  const updates = new SectorUpdates(file);
  const sectors = sectorsPerEntry(MIB) + 10;
  for (let index = 0; index < sectors; index++) await updates.write(at + index * LOG_SECTOR_SIZE, new Uint8Array(LOG_SECTOR_SIZE).fill(index % 251));
  const state = await headersOf(file);
  const traffic = newTraffic();
  const after = await commitThroughLog(countingFile(file, traffic), state, updates);
  // Two entries under one LogGuid: the headers name it once and clear it once, both copies each time.
  expect(headerWrites(traffic)).toBe(4);
  expect(after.header.sequenceNumber).toBe(state.header.sequenceNumber + 4);
  expect(after.header.logGuid).toBe(NIL_GUID);
  const image = await openVhdx(new MemoryFile("after.vhdx", file.bytes));
  expect(image.replayedLog).toHaveLength(0);
  const content = await image.read(0, sectors * LOG_SECTOR_SIZE);
  for (let index = 0; index < sectors; index++) expect(content[index * LOG_SECTOR_SIZE], `sector ${index}`).toBe(index % 251);
});

test("a live entry not yet applied reads through our reader and is replayed into the file by the next write", async () => {
  const file = await fixedBase();
  const at = await firstBlockOffset(file);
  await writeLogEntry(file, await headersOf(file), [{ fileOffset: at, data: new Uint8Array(LOG_SECTOR_SIZE).fill(0x6d) }]);
  const live = await openVhdx(new MemoryFile("live.vhdx", file.bytes));
  expect(live.replayedLog).toHaveLength(1);
  expect((await live.read(0, 4))[0]).toBe(0x6d);
  expect(file.bytes[at]).toBe(0);
  await writeVhdxAt(file, 8192, Uint8Array.of(0x42));
  const after = await openVhdx(new MemoryFile("after.vhdx", file.bytes));
  expect(after.header.logGuid).toBe(NIL_GUID);
  expect(file.bytes[at]).toBe(0x6d);
  expect([...(await after.read(0, 1)), ...(await after.read(8192, 1))]).toEqual([0x6d, 0x42]);
});

test("header writes per commit stay four whatever the number of entries (one LogGuid per commit, §2.2.2, §2.3)", async () => {
  const counts: number[] = [];
  for (const entries of [1, 3]) {
    const file = await fixedBase();
    const at = await firstBlockOffset(file);
    const updates = new SectorUpdates(file);
    const sectors = sectorsPerEntry(MIB) * (entries - 1) + 1;
    for (let index = 0; index < sectors; index++) await updates.write(at + index * LOG_SECTOR_SIZE, new Uint8Array(LOG_SECTOR_SIZE).fill(7));
    const traffic = newTraffic();
    await commitThroughLog(countingFile(file, traffic), await headersOf(file), updates);
    counts.push(headerWrites(traffic));
    const image = await openVhdx(new MemoryFile("after.vhdx", file.bytes));
    expect(image.header.logGuid).toBe(NIL_GUID);
    expect((await image.read((sectors - 1) * LOG_SECTOR_SIZE, 1))[0]).toBe(7);
  }
  expect(counts).toEqual([4, 4]);
});

test("a write session writes the headers twice when it allocates (LogGuid named with the new GUIDs, then cleared), once when it does not", async () => {
  const file = new MemoryFile("dynamic.vhdx", new Uint8Array(0));
  await writeVhdxBase(file, { kind: "dynamic", virtualSize: SIZE, blockSize: MIB });
  const allocating = newTraffic();
  expect(await writeVhdxAt(countingFile(file, allocating), 0, new Uint8Array(3 * MIB).fill(1))).toEqual({ blocksAllocated: 3 });
  expect(headerWrites(allocating)).toBe(4);
  const inPlace = newTraffic();
  expect(await writeVhdxAt(countingFile(file, inPlace), 512, new Uint8Array(MIB).fill(2))).toEqual({ blocksAllocated: 0 });
  expect(headerWrites(inPlace)).toBe(2);
  const image = await openVhdx(new MemoryFile("after.vhdx", file.bytes));
  expect(image.header.logGuid).toBe(NIL_GUID);
  expect([...(await image.read(511, 2)), ...(await image.read(MIB + 512, 1)), ...(await image.read(2 * MIB, 1))]).toEqual([1, 2, 1, 1]);
});

test("a commit of two entries interrupted at each write (whole or torn) reads as before, after the first entry, or after both", async () => {
  const initial = await fixedBase();
  const at = await firstBlockOffset(initial);
  const perEntry = sectorsPerEntry(MIB);
  const sectors = perEntry + 10;
  const commit = async (file: MemoryFile, traffic: FileTraffic = newTraffic()): Promise<void> => {
    const updates = new SectorUpdates(file);
    for (let index = 0; index < sectors; index++) await updates.write(at + index * LOG_SECTOR_SIZE, new Uint8Array(LOG_SECTOR_SIZE).fill(1 + (index % 250)));
    await commitThroughLog(countingFile(file, traffic), await headersOf(file), updates);
  };
  const whole = new MemoryFile("whole.vhdx", Uint8Array.from(initial.bytes));
  const traffic = newTraffic();
  await commit(whole, traffic);
  // Every header and log write, and the in-place writes on either side of one: the writes whose order matters (a
  // crash at each of the ~500 in-place writes would only repeat the ones between).
  const logOffset = (await headersOf(whole)).header.logOffset;
  const ordered = traffic.writes.map(({ position }) => position === logOffset || (HEADER_OFFSETS as readonly number[]).includes(position));
  const points = ordered.flatMap((isOrdered, index) => (isOrdered ? [index - 1, index, index + 1] : [])).filter((index) => index >= 0 && index < traffic.writes.length);
  const outcomes = new Set<string>();
  for (const writes of new Set(points)) {
    for (const tornBytes of [undefined, 2048]) {
      const file = new MemoryFile("crash.vhdx", Uint8Array.from(initial.bytes), { writes, ...(tornBytes === undefined ? {} : { tornBytes }) });
      await commit(file).catch((error: unknown) => {
        if (!(error instanceof SimulatedCrash)) throw error;
      });
      const image = await openVhdx(new MemoryFile("after.vhdx", file.bytes));
      const content = await image.read(0, sectors * LOG_SECTOR_SIZE);
      const landed = (first: number, end: number): "old" | "new" | "mixed" => {
        const states = new Set(Array.from({ length: end - first }, (_, i) => (content[(first + i) * LOG_SECTOR_SIZE] === 0 ? "old" : "new")));
        return states.size === 1 ? [...states][0] ?? "mixed" : "mixed";
      };
      outcomes.add(`${landed(0, perEntry)}/${landed(perEntry, sectors)}`);
    }
  }
  expect([...outcomes].sort()).toEqual(["new/new", "new/old", "old/old"]);
});
