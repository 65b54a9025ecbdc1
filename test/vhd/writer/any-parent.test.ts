/**
 * Property: whatever a producer wrote into the parent's footer (creator, version, host OS, geometry), whether its
 * footer is 512 or 511 bytes long, whatever its type and block size, a child made off it verifies, and every block
 * a write allocates (in the child, and in a sparse parent) has its data on a 4 KiB boundary, so inspect reports
 * Get-VHD's Alignment 1. The composed bytes stay what was written.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { createBaseDisk } from "../../../provider/ops/create-base";
import { createDifferencingDisk } from "../../../provider/ops/create-differencing";
import { openDiskImage } from "../../../provider/vhd/reader/reader";
import { inspectDisk } from "../../../provider/disk/inspect";
import { verifyDisk } from "../../../provider/vhd/verify";
import { writeAt } from "../../../provider/vhd/writer/block-writer";
import {
  FOOTER_SIZE,
  UNUSED_BAT_ENTRY,
  decodeFooter,
  encodeFooter,
  isBlockDataAligned,
  type Footer,
} from "../../../provider/vhd/format";
import { BLOCK_SIZES } from "../../../provider/vhd/writer/size-rules";
import { writeVhd } from "../reader/vhd-builder";
import { MIB, readComposed } from "./disks";

/** What a producer may have put in the footer, beyond the size and type every reader needs. */
interface Producer {
  creatorApplication: string;
  creatorVersion: number;
  creatorHostOs: string;
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

interface ParentSpec {
  type: "fixed" | "dynamic" | "differencing";
  sectors: number;
  /** The parent's own block size (dynamic and differencing). */
  blockSize: number;
  producer: Producer;
  footerLength: 511 | 512;
}

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const printable4 = fc.string({ unit: printable, minLength: 4, maxLength: 4 });
const producer: fc.Arbitrary<Producer> = fc.record({
  creatorApplication: fc.oneof(fc.constantFrom("win ", "qemu", "qem2", "vpc ", "vs  ", "vbox", "d2v ", "caml"), printable4),
  creatorVersion: fc.integer({ min: 0, max: 0xffffffff }),
  creatorHostOs: fc.oneof(fc.constantFrom("Wi2k", "Mac "), printable4),
  cylinders: fc.integer({ min: 0, max: 0xffff }),
  heads: fc.integer({ min: 0, max: 0xff }),
  sectorsPerTrack: fc.integer({ min: 0, max: 0xff }),
});
const parentSpec: fc.Arbitrary<ParentSpec> = fc.record({
  type: fc.constantFrom("fixed", "dynamic", "differencing"),
  // 3 MiB (the smallest base disk) to 6 MiB, any whole number of sectors.
  sectors: fc.integer({ min: 6144, max: 12288 }),
  blockSize: fc.integer({ min: 12, max: 21 }).map((log) => 2 ** log),
  producer,
  footerLength: fc.constantFrom(511, 512),
});
const write = fc.record({ offset: fc.nat(), length: fc.integer({ min: 1, max: 20_000 }), byte: fc.integer({ min: 1, max: 255 }) });

/** Rewrites the footer copies of the disk at `path` with `producer`'s fields, then cuts it to a 511-byte footer. */
async function restamp(path: string, facts: Producer, footerLength: 511 | 512): Promise<void> {
  const bytes = await readFile(path);
  const footer: Footer = { ...decodeFooter(bytes.subarray(bytes.length - FOOTER_SIZE)).footer, ...facts };
  const encoded = encodeFooter(footer);
  bytes.set(encoded, bytes.length - FOOTER_SIZE);
  if (footer.dataOffset !== null) bytes.set(encoded, 0);
  await writeFile(path, footerLength === 511 ? bytes.subarray(0, bytes.length - 1) : bytes);
}

/** Builds the parent the spec describes in `folder` and returns its path. */
async function makeParent(folder: string, spec: ParentSpec): Promise<string> {
  const size = spec.sectors * 512;
  const path = join(folder, "parent.vhd");
  if (spec.type === "fixed") {
    await createBaseDisk({ path, size, type: "fixed" });
  } else if (spec.type === "dynamic") {
    const writes = [{ offset: 0, data: new Uint8Array(4096).fill(0x11) }];
    await writeVhd(path, { type: "dynamic", virtualSize: size, blockSize: spec.blockSize, writes });
  } else {
    const base = join(folder, "base.vhd");
    const writes = [{ offset: 4096, data: new Uint8Array(512).fill(0x22) }];
    await writeVhd(base, { type: "dynamic", virtualSize: size, blockSize: spec.blockSize, writes });
    await createDifferencingDisk({ imagePath: path, parentPath: base });
    await writeAt(path, size - 4096, new Uint8Array(4096).fill(0x33));
  }
  await restamp(path, spec.producer, spec.footerLength);
  return path;
}

/** The BAT entries that were unused in `before` and are used in the disk at `path` now: the blocks just allocated. */
async function newBlocksAligned(path: string, before: readonly number[]): Promise<boolean[]> {
  const image = await openDiskImage(path);
  try {
    const { bat, header } = image;
    if (bat === null || header === null) return [];
    return [...bat].flatMap((entry, index) =>
      entry !== UNUSED_BAT_ENTRY && before[index] === UNUSED_BAT_ENTRY ? [isBlockDataAligned(entry, header.blockSize)] : [],
    );
  } finally {
    await image.close();
  }
}

async function batOf(path: string): Promise<number[]> {
  const image = await openDiskImage(path);
  const entries = [...(image.bat ?? [])];
  await image.close();
  return entries;
}

describe("a child of any parent", () => {
  test("property: verify(createDifferencing(parent)) holds; every block a write allocates is 4 KiB-aligned", async () => {
    await fc.assert(
      fc.asyncProperty(
        parentSpec,
        fc.constantFrom(...BLOCK_SIZES),
        fc.array(write, { minLength: 1, maxLength: 4 }),
        async (spec, childBlockSize, writes) => {
          const folder = await mkdtemp(join(tmpdir(), "vhd-any-parent-"));
          try {
            const parent = await makeParent(folder, spec);
            const child = join(folder, "child.vhd");
            await createDifferencingDisk({ imagePath: child, parentPath: parent, blockSize: childBlockSize });
            const fresh = await verifyDisk(child);
            expect(fresh.checks.filter((check) => !check.ok)).toEqual([]);

            const size = spec.sectors * 512;
            const expected = await readComposed(parent);
            const childBefore = await batOf(child);
            for (const { offset, length, byte } of writes) {
              const at = offset % size;
              const data = new Uint8Array(Math.min(length, size - at)).fill(byte);
              await writeAt(child, at, data);
              expected.set(data, at);
            }
            const childBlocks = await newBlocksAligned(child, childBefore);
            expect(childBlocks.length).toBeGreaterThan(0);
            expect(childBlocks.every(Boolean)).toBe(true);
            expect((await inspectDisk(child)).alignment).toBe(1);
            expect((await verifyDisk(child)).ok).toBe(true);
            expect((await readComposed(child)).equals(expected)).toBe(true);

            if (spec.type !== "fixed") {
              const parentBefore = await batOf(parent);
              const unused = parentBefore.findIndex((entry) => entry === UNUSED_BAT_ENTRY);
              const blockSize = (await inspectDisk(parent)).blockSize ?? 0;
              if (unused >= 0 && unused * blockSize < size) {
                await writeAt(parent, unused * blockSize, new Uint8Array(100).fill(0x44));
                expect(await newBlocksAligned(parent, parentBefore)).toEqual([true]);
                expect((await verifyDisk(parent)).checks.filter((check) => !check.ok)).toEqual([]);
              }
            }
          } finally {
            await rm(folder, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 20 },
    );
  });
});
