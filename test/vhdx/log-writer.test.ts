/**
 * The log writer (provider/vhdx/log-writer.ts): pending sectors read back as changed, an entry sized to the log,
 * a commit larger than the log split into entries that each land, and an entry left live (a crash before it is
 * applied) read through by our reader and replayed into the file by the next write.
 */
import { expect, test } from "vitest";
import { MemoryFile } from "../../provider/storage/memory/memory-file";
import { encodeLogEntry, LOG_SECTOR_SIZE, MIB, NIL_GUID } from "../../provider/vhdx/format";
import { commitThroughLog, sectorsPerEntry, SectorUpdates, writeLogEntry, type HeaderState } from "../../provider/vhdx/log-writer";
import { openVhdx } from "../../provider/vhdx/reader";
import { writeVhdxAt, writeVhdxBase } from "../../provider/vhdx/writer";

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
  const after = await commitThroughLog(file, state, updates);
  // Two entries: each made live and cleared, two header writes apiece.
  expect(after.header.sequenceNumber).toBe(state.header.sequenceNumber + 8);
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
