/**
 * Round trips of the MS-VHDX codecs (encode then decode gives the record back) over generated values, and the
 * fixed facts every implementation must share: CRC-32C's check value, the BAT GUID's Windows byte order, the BAT
 * interleave arithmetic (docs/vhdx-format.md §1, §4).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { decodeGuid, encodeGuid } from "../../provider/vhd/format/field";
import {
  bitmapSliceOffset,
  chunkRatio,
  crc32c,
  decodeBatEntry,
  decodeHeader,
  decodeLogEntry,
  decodeMetadataTable,
  decodeParentLocator,
  decodeRegionTable,
  encodeVhdxBatEntry,
  encodeHeader,
  encodeLogEntry,
  encodeMetadataRegion,
  encodeParentLocator,
  encodeRegionTable,
  findActiveSequence,
  MIB,
  payloadBatIndex,
  REGION_GUIDS,
  requiredBatEntries,
  sectorBitmapBatIndex,
  VHDX_PARENT_LOCATOR_TYPE,
} from "../../provider/vhdx/format";

const guid = fc.uuid({ version: 4 }).map((text) => text.toLowerCase());
const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

test("CRC-32C is the Castagnoli check value", () => {
  expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
});

test("GUIDs are stored in Windows byte order and round-trip", () => {
  expect(Buffer.from(encodeGuid(REGION_GUIDS.bat) ?? []).toString("hex")).toBe("6677c22d23f600429d64115e9bfd4a08");
  expect(encodeGuid("{2DC27766-F623-4200-9D64-115E9BFD4A08}")).toEqual(encodeGuid(REGION_GUIDS.bat));
  expect(encodeGuid("not a guid")).toBeUndefined();
  fc.assert(fc.property(guid, (value) => decodeGuid(encodeGuid(value) ?? new Uint8Array(16)) === value));
});

test("headers round-trip with a valid CRC, and any flipped byte breaks it", () => {
  fc.assert(
    fc.property(safe, guid, guid, guid, u32, safe, fc.integer({ min: 0, max: 4095 }), (sequenceNumber, a, b, c, logLength, logOffset, flip) => {
      const record = { sequenceNumber, fileWriteGuid: a, dataWriteGuid: b, logGuid: c, logVersion: 0, version: 1, logLength, logOffset };
      const bytes = encodeHeader(record);
      const decoded = decodeHeader(bytes);
      expect(decoded).toMatchObject({ ...record, signatureValid: true, checksumValid: true });
      bytes[flip] = (bytes[flip] ?? 0) ^ 0x40;
      const broken = decodeHeader(bytes);
      expect(broken.signatureValid && broken.checksumValid).toBe(false);
    }),
  );
});

test("region tables round-trip", () => {
  const entry = fc.record({ guid, fileOffset: safe, length: u32, required: u32 });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 40 }), (entries) => {
      const decoded = decodeRegionTable(encodeRegionTable(entries));
      expect(decoded).toEqual({ signatureValid: true, checksumValid: true, entryCount: entries.length, entries });
    }),
  );
});

test("metadata tables and parent locators round-trip", () => {
  const text = fc.string({ minLength: 1, maxLength: 40 }).filter((value) => !value.includes("\0") && Buffer.from(value, "utf16le").toString("utf16le") === value);
  const item = fc.record({ itemId: guid, flags: fc.integer({ min: 0, max: 7 }), data: fc.uint8Array({ minLength: 0, maxLength: 64 }) });
  fc.assert(
    fc.property(fc.array(item, { maxLength: 10 }), (items) => {
      const table = decodeMetadataTable(encodeMetadataRegion(items));
      expect(table.signatureValid).toBe(true);
      expect(table.entries.map(({ itemId, flags, length }) => ({ itemId, flags, length }))).toEqual(
        items.map(({ itemId, flags, data }) => ({ itemId, flags, length: data.length })),
      );
    }),
  );
  fc.assert(
    fc.property(fc.uniqueArray(fc.record({ key: text, value: text }), { selector: (entry) => entry.key, maxLength: 8 }), (entries) => {
      expect(decodeParentLocator(encodeParentLocator(VHDX_PARENT_LOCATOR_TYPE, entries))).toEqual({
        ok: true,
        locatorType: VHDX_PARENT_LOCATOR_TYPE,
        entries,
      });
    }),
  );
});

test("BAT entries round-trip (state in bits 0-2, offset in MiB from bit 20)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 2 ** 33 }), (state, megabytes) => {
      const bytes = encodeVhdxBatEntry({ state, fileOffset: megabytes * MIB });
      expect(decodeBatEntry(new DataView(bytes.buffer), 0)).toEqual({ state, fileOffset: megabytes * MIB });
    }),
  );
});

test("the interleave arithmetic matches the spec's examples", () => {
  const geometry = { virtualSize: 10 * 1024 ** 3, blockSize: 32 * MIB, logicalSectorSize: 512 };
  expect(chunkRatio(geometry)).toBe(128);
  expect(chunkRatio({ ...geometry, blockSize: MIB })).toBe(4096);
  expect(chunkRatio({ ...geometry, blockSize: 256 * MIB })).toBe(16);
  expect(chunkRatio({ ...geometry, logicalSectorSize: 4096 })).toBe(1024);
  expect(payloadBatIndex(127, 128)).toBe(127);
  expect(payloadBatIndex(128, 128)).toBe(129);
  expect(sectorBitmapBatIndex(0, 128)).toBe(128);
  expect(sectorBitmapBatIndex(2, 128)).toBe(386);
  // 320 blocks: N + floor((N - 1) / CR) = 322 for a base, S x (CR + 1) = 387 for a child.
  expect(requiredBatEntries(geometry, false)).toBe(322);
  expect(requiredBatEntries(geometry, true)).toBe(387);
  expect(bitmapSliceOffset(130, { ...geometry, blockSize: 32 * MIB })).toBe(2 * 8192);
});

describe("log entries", () => {
  const logGuid = "e6fc743c-81ed-4fe8-bf54-698ed57ba0b8";
  const write = fc.oneof(
    fc.record({ fileOffset: fc.integer({ min: 0, max: 1000 }).map((n) => n * 4096), data: fc.uint8Array({ minLength: 4096, maxLength: 4096 }) }),
    fc.record({ fileOffset: fc.integer({ min: 0, max: 1000 }).map((n) => n * 4096), zeroLength: fc.integer({ min: 1, max: 64 }).map((n) => n * 4096) }),
  );

  test("round-trip, descriptors beyond the first sector included", () => {
    fc.assert(
      fc.property(fc.array(write, { maxLength: 140 }), safe.filter((n) => n > 0), (writes, sequenceNumber) => {
        const bytes = encodeLogEntry({ logGuid, sequenceNumber, tail: 0, flushedFileOffset: 5 * MIB, lastFileOffset: 6 * MIB, writes });
        const log = new Uint8Array(Math.max(MIB, bytes.length));
        log.set(bytes);
        const entry = decodeLogEntry(log, 0, logGuid);
        expect(entry?.header.sequenceNumber).toBe(sequenceNumber);
        expect(entry?.writes).toEqual(writes);
        expect(decodeLogEntry(log, 0, "00000000-0000-0000-0000-000000000001")).toBeUndefined();
      }),
      { numRuns: 30 },
    );
  });

  test("the active sequence runs from the head's tail to the head, even wrapped around the ring", () => {
    const log = new Uint8Array(64 * 1024);
    const page = (byte: number): Uint8Array => new Uint8Array(4096).fill(byte);
    // Entries of 2 sectors at 48, 56 (wrapping to 0) KiB ... sequence 7, 8, 9; 9's tail is 8's offset.
    const place = (at: number, sequenceNumber: number, tail: number): void => {
      const bytes = encodeLogEntry({ logGuid, sequenceNumber, tail, flushedFileOffset: 0, lastFileOffset: 0, writes: [{ fileOffset: 2 * MIB, data: page(sequenceNumber) }] });
      for (let index = 0; index < bytes.length; index++) log[(at + index) % log.length] = bytes[index] ?? 0;
    };
    place(48 * 1024, 7, 48 * 1024);
    place(56 * 1024, 8, 48 * 1024);
    place(0, 9, 56 * 1024);
    const sequence = findActiveSequence(log, logGuid);
    expect(sequence.map((entry) => entry.header.sequenceNumber)).toEqual([8, 9]);
  });
});
