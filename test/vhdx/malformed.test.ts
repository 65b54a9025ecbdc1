/**
 * Malformed VHDX files give a VhdError naming the structure, quickly, never a crash or a hang: a wrong signature,
 * one or both headers bad, region tables, metadata, BAT entries, log entries (a live log that is corrupt, one whose
 * updates would hit the headers, one full of valid entries around the whole ring), and random byte flips anywhere
 * in the structures.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, test, vi } from "vitest";
import * as crc32c from "../../provider/vhdx/format/crc32c";
import { isVhdError } from "../../provider/errors";
import {
  decodeHeader,
  encodeVhdxBatEntry,
  encodeHeader,
  encodeLogEntry,
  HEADER_OFFSETS,
  MIB,
  REGION_TABLE_OFFSETS,
} from "../../provider/vhdx/format";
import { openVhdx, type VhdxImage } from "../../provider/vhdx/reader";
import { writeVhdxBase } from "../../provider/vhdx/writer";
import { MemoryFile } from "../../provider/storage/memory/memory-file";
import { rawContent } from "../../provider/disk/content";

// Counted, not timed: how many structures the reader checks (each check is one CRC-32C) says whether a search is
// linear, where a wall-clock bound would fail a correct run on a loaded machine.
vi.mock("../../provider/vhdx/format/crc32c", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../provider/vhdx/format/crc32c")>();
  // A plain counter, not vi.fn: that would keep every call's bytes, and the property tests below open many files.
  const counted = { checks: 0 };
  const checksumWithFieldZeroed: typeof original.checksumWithFieldZeroed = (bytes, fieldOffset) => {
    counted.checks++;
    return original.checksumWithFieldZeroed(bytes, fieldOffset);
  };
  return { ...original, checksumWithFieldZeroed, counted };
});

/** How many CRC-32C checks `open` makes. */
async function checksCounted(open: () => Promise<VhdxImage>): Promise<{ image: VhdxImage; checks: number }> {
  const { counted } = crc32c as unknown as { counted: { checks: number } };
  const before = counted.checks;
  const image = await open();
  return { image, checks: counted.checks - before };
}

const SIZE = 16 * MIB;
let pristine: Uint8Array;

beforeAll(async () => {
  const file = new MemoryFile("base.vhdx", new Uint8Array(0));
  const raw = new MemoryFile("base.raw", new Uint8Array(SIZE).fill(0x5a));
  await writeVhdxBase(file, { kind: "dynamic", virtualSize: SIZE, blockSize: MIB, content: rawContent(raw) });
  pristine = Uint8Array.from(file.bytes);
});

function mutated(change: (bytes: Uint8Array, view: DataView) => void): MemoryFile {
  const bytes = Uint8Array.from(pristine);
  change(bytes, new DataView(bytes.buffer));
  return new MemoryFile("bad.vhdx", bytes);
}

function flip(bytes: Uint8Array, at: number, mask: number): void {
  bytes[at] = (bytes[at] ?? 0) ^ mask;
}

async function openError(file: MemoryFile): Promise<{ code: string; message: string }> {
  const error: unknown = await openVhdx(file).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isVhdError(error)) throw new Error(`expected a VhdError, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

/** Rewrites header `slot` with `change` applied and a valid CRC. */
function rewriteHeader(bytes: Uint8Array, slot: 0 | 1, change: Partial<ReturnType<typeof decodeHeader>>): void {
  const at = HEADER_OFFSETS[slot];
  const header = { ...decodeHeader(bytes.subarray(at, at + 4096)), ...change };
  bytes.set(encodeHeader(header), at);
}

const LOG_OFFSET = MIB;
const LOG_GUID = "e6fc743c-81ed-4fe8-bf54-698ed57ba0b8";

describe("structure damage", () => {
  test("not a VHDX", async () => {
    expect(await openError(mutated((bytes) => (bytes[0] = 0x58)))).toMatchObject({ code: "ERROR_VHD_FORMAT_UNKNOWN" });
  });

  test("one bad header: the other one is used; both bad: an error naming the headers", async () => {
    const one = await openVhdx(mutated((bytes) => (bytes[HEADER_OFFSETS[0] + 100] = 1)));
    expect(one.headerSlot).toBe(1);
    const both = await openError(mutated((bytes) => {
      bytes[HEADER_OFFSETS[0] + 100] = 1;
      bytes[HEADER_OFFSETS[1]] = 0;
    }));
    expect(both.code).toBe("ERROR_VHD_METADATA_READ_FAILURE");
    expect(both.message).toMatch(/neither VHDX header is valid: header 1 has a wrong CRC-32C, header 2 has no "head" signature/);
  });

  test("header version 2 and a log version other than 0 are refused", async () => {
    expect(await openError(mutated((bytes) => {
      rewriteHeader(bytes, 0, { version: 2 });
      rewriteHeader(bytes, 1, { version: 2 });
    }))).toMatchObject({ code: "ERROR_VHD_FORMAT_UNSUPPORTED_VERSION" });
  });

  test("region table 1 bad: table 2 is used; both bad: an error naming them", async () => {
    const one = await openVhdx(mutated((bytes) => flip(bytes, REGION_TABLE_OFFSETS[0] + 20, 1)));
    expect(one.regionTableSlot).toBe(1);
    const both = await openError(mutated((bytes) => {
      for (const at of REGION_TABLE_OFFSETS) flip(bytes, at + 20, 1);
    }));
    expect(both).toMatchObject({ code: "ERROR_VHD_METADATA_READ_FAILURE" });
    expect(both.message).toMatch(/region table/);
  });

  test("metadata: a bad signature, a missing item, an item outside the region", async () => {
    const metadata = 2 * MIB;
    expect((await openError(mutated((bytes) => (bytes[metadata] = 0x20)))).message).toMatch(/metadata table/);
    // Entry 1 (virtual disk size) gets an unknown GUID: a required item this reader does not know; unrequired,
    // it is skipped and the size item is missing.
    expect((await openError(mutated((bytes) => flip(bytes, metadata + 32 + 32, 0xff)))).message).toMatch(/required item .* does not know/);
    const unrequired = mutated((bytes, view) => {
      flip(bytes, metadata + 32 + 32, 0xff);
      view.setUint32(metadata + 32 + 32 + 24, 0, true);
    });
    expect((await openError(unrequired)).message).toMatch(/no virtualDiskSize item/);
    expect((await openError(mutated((_, view) => view.setUint32(metadata + 32 + 16, 2 * MIB, true)))).message).toMatch(/outside the metadata region/);
  });

  test("BAT: an entry past the end of the file, a reserved state, PARTIALLY_PRESENT without a parent", async () => {
    const bat = 3 * MIB;
    for (const entry of [{ state: 6, fileOffset: 1024 * MIB }, { state: 4, fileOffset: 0 }, { state: 7, fileOffset: 4 * MIB }]) {
      const error = await openError(mutated((bytes) => bytes.set(encodeVhdxBatEntry(entry), bat)));
      expect(error.code).toBe("ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT");
      expect(error.message).toMatch(/BAT entry 0/);
    }
  });

  test("BAT: a block over the log, the metadata or the BAT, or two entries naming one block (a write would destroy the file)", async () => {
    const bat = 3 * MIB;
    const intoLog = await openError(mutated((bytes) => bytes.set(encodeVhdxBatEntry({ state: 6, fileOffset: LOG_OFFSET }), bat)));
    expect(intoLog).toMatchObject({ code: "ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT" });
    expect(intoLog.message).toMatch(/BAT entry 0 names bytes .* which overlap the log/);
    const intoBat = await openError(mutated((bytes) => bytes.set(encodeVhdxBatEntry({ state: 6, fileOffset: bat }), bat)));
    expect(intoBat.message).toMatch(/overlap the BAT region/);
    const shared = await openError(mutated((bytes) => bytes.copyWithin(bat + 8, bat, bat + 8)));
    expect(shared).toMatchObject({ code: "ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT" });
    expect(shared.message).toMatch(/overlap the block of entry/);
  });
});

describe("the log", () => {
  const withLog = (log: (bytes: Uint8Array) => void): MemoryFile =>
    mutated((bytes) => {
      for (const slot of [0, 1] as const) rewriteHeader(bytes, slot, { logGuid: LOG_GUID });
      log(bytes);
    });

  test("a live log is replayed in memory: its update is read, the file is not written", async () => {
    const data = new Uint8Array(4096).fill(0xc3);
    const file = withLog((bytes) => {
      // One entry rewriting the first 4 KiB of block 0's data (at the first block after the BAT, 4 MiB).
      bytes.set(encodeLogEntry({ logGuid: LOG_GUID, sequenceNumber: 5, tail: 0, flushedFileOffset: 4 * MIB, lastFileOffset: 4 * MIB, writes: [{ fileOffset: 4 * MIB, data }] }), LOG_OFFSET);
    });
    const before = Uint8Array.from(file.bytes);
    const image = await openVhdx(file);
    expect(image.replayedLog).toHaveLength(1);
    expect(await image.read(0, 4096)).toEqual(data);
    expect(await image.read(4096, 1)).toEqual(new Uint8Array([0x5a]));
    expect(Buffer.compare(file.bytes, before)).toBe(0);
  });

  test("a log entry that would write the headers, or needs a longer file, is an error naming the log", async () => {
    const header = withLog((bytes) => {
      bytes.set(encodeLogEntry({ logGuid: LOG_GUID, sequenceNumber: 5, tail: 0, flushedFileOffset: 0, lastFileOffset: 0, writes: [{ fileOffset: HEADER_OFFSETS[0], data: new Uint8Array(4096) }] }), LOG_OFFSET);
    });
    expect((await openError(header)).message).toMatch(/log entry 5 writes 4096 bytes at 65536/);
    const short = withLog((bytes) => {
      bytes.set(encodeLogEntry({ logGuid: LOG_GUID, sequenceNumber: 5, tail: 0, flushedFileOffset: 1024 * MIB, lastFileOffset: 0, writes: [] }), LOG_OFFSET);
    });
    expect(await openError(short)).toMatchObject({ code: "ERROR_VHD_INVALID_FILE_SIZE" });
  });

  test("a corrupt entry is not replayed (no valid sequence: nothing to replay)", async () => {
    const file = withLog((bytes) => {
      bytes.set(encodeLogEntry({ logGuid: LOG_GUID, sequenceNumber: 5, tail: 0, flushedFileOffset: 0, lastFileOffset: 0, writes: [{ fileOffset: 4 * MIB, data: new Uint8Array(4096) }] }), LOG_OFFSET);
      flip(bytes, LOG_OFFSET + 5000, 1);
    });
    const image = await openVhdx(file);
    expect(image.replayedLog).toHaveLength(0);
    expect(await image.read(0, 1)).toEqual(new Uint8Array([0x5a]));
  });

  test("a ring full of valid consecutive entries ends the search after one pass (no hang)", async () => {
    const file = withLog((bytes) => {
      for (let sector = 0; sector < 256; sector++) {
        const entry = encodeLogEntry({ logGuid: LOG_GUID, sequenceNumber: sector + 1, tail: ((sector + 255) % 256) * 4096, flushedFileOffset: 0, lastFileOffset: 0, writes: [] });
        bytes.set(entry, LOG_OFFSET + sector * 4096);
      }
    });
    const { checks: withoutLog } = await checksCounted(() => openVhdx(withLog(() => undefined)));
    const { image, checks } = await checksCounted(() => openVhdx(file));
    // One pass: the run from sector 0 checks each of the 256 entries once (and the first again when it wraps onto it,
    // whose sequence number ends the run) and marks them, so no other sector starts a run: 255 more checks than an
    // open without the log, seen. A search restarting at every sector would make about 256 * 257 / 2 = 32 896; a
    // ring that looped, no end. At most twice the ring leaves room for the reader's other checks to change.
    expect(checks - withoutLog).toBeLessThanOrEqual(2 * 256);
    expect(image.replayedLog.map((entry) => entry.header.sequenceNumber)).toEqual([255, 256]);
  });
});

test("random byte flips in the structures give an image that reads, or a VhdError, never anything else", async () => {
  // The header section, the log, the metadata region and the BAT: the first 4 MiB.
  const place = fc.oneof(
    fc.integer({ min: 0, max: 4 * MIB - 1 }),
    fc.integer({ min: HEADER_OFFSETS[0], max: HEADER_OFFSETS[0] + 80 }),
    fc.integer({ min: REGION_TABLE_OFFSETS[0], max: REGION_TABLE_OFFSETS[0] + 80 }),
    fc.integer({ min: 2 * MIB, max: 2 * MIB + 256 }),
    fc.integer({ min: 2 * MIB + 64 * 1024, max: 2 * MIB + 64 * 1024 + 48 }),
    fc.integer({ min: 3 * MIB, max: 3 * MIB + 200 }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(place, fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }), async (flips) => {
      const file = mutated((bytes) => {
        for (const [at, mask] of flips) flip(bytes, at, mask);
      });
      let image: VhdxImage | undefined;
      try {
        image = await openVhdx(file);
        await image.read(0, SIZE, { read: async (_, length) => new Uint8Array(length) });
      } catch (error) {
        if (!isVhdError(error)) throw error;
      }
    }),
    { numRuns: 300 },
  );
});
