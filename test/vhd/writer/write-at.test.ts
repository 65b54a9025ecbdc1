import { readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pyvhdiReadChain, qemuImgMap } from "../../support/oracles";
import { blockDataOffset, isSectorSet } from "../../../provider/vhd/format";
import { inspectDisk } from "../../../provider/disk/inspect";
import { writeAt } from "../../../provider/vhd/writer/block-writer";
import {
  MIB,
  createBase,
  createChild,
  fileSha256,
  footerCopies,
  readComposed,
  sha256,
  tempFolder,
  withImage,
} from "./disks";

let folder: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ folder, cleanup } = await tempFolder("write-at"));
});
afterAll(async () => {
  await cleanup();
});

/** Small blocks make many of them; the odd size ends in a partial block whose last bitmap byte is partial too. */
const BLOCK = 512 * 1024;
const SIZE = 3 * MIB + 3 * 512;

interface Write {
  offset: number;
  length: number;
  seed: number;
}

/** Writes of up to 3 blocks, anywhere (unaligned, across block boundaries, up to the last byte). */
const writeArbitrary: fc.Arbitrary<Write> = fc
  .record({ offset: fc.integer({ min: 0, max: SIZE - 1 }), length: fc.integer({ min: 1, max: 3 * BLOCK }), seed: fc.nat(255) })
  .map((write) => ({ ...write, length: Math.min(write.length, SIZE - write.offset) }));
const writesArbitrary = fc.array(writeArbitrary, { maxLength: 5 });

/** A write's bytes: position-dependent, so a misplaced byte shows. */
function bytesOf({ length, seed }: Write): Buffer {
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index++) bytes[index] = (seed + index * 31 + (index >>> 9)) & 0xff;
  return bytes;
}

/** Applies writes to the disk and to the model of what it should read. */
async function apply(path: string, writes: readonly Write[], model: Buffer): Promise<void> {
  for (const write of writes) {
    const bytes = bytesOf(write);
    await writeAt(path, write.offset, bytes);
    bytes.copy(model, write.offset);
  }
}

/**
 * Every bitmap byte of every allocated block is 0x00 or 0xFF (libvhdi misreads mixed bytes, docs/vhd-format.md §6), counting
 * only the sectors inside the disk: the last byte of a disk whose size is not a multiple of 4 KiB covers sectors that
 * do not exist and are never read.
 */
async function bitmapsAreWholeBytes(path: string): Promise<boolean> {
  const sectorsPerBlock = BLOCK / 512;
  const diskSectors = SIZE / 512;
  return withImage(path, async (image) => {
    for (const [blockIndex, entry] of (image.bat ?? new Uint32Array()).entries()) {
      if (entry === 0xffffffff) continue;
      const bitmap = await image.blockBitmap(blockIndex, entry);
      const sectors = Math.min(sectorsPerBlock, diskSectors - blockIndex * sectorsPerBlock);
      for (let first = 0; first < sectors; first += 8) {
        const bits = Array.from({ length: Math.min(8, sectors - first) }, (_, bit) => isSectorSet(bitmap, first + bit));
        if (bits.some((bit) => bit !== bits[0])) return false;
      }
    }
    return true;
  });
}

interface Scenario {
  parentType: "dynamic" | "fixed";
  parentWrites: Write[];
  childWrites: Write[];
  grandchildWrites: Write[];
}
const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  parentType: fc.constantFrom("dynamic" as const, "fixed" as const),
  parentWrites: writesArbitrary,
  childWrites: writesArbitrary,
  grandchildWrites: writesArbitrary,
});

let run = 0;
/** Builds parent, child and grandchild with their writes; returns the paths and the expected disk after each stage. */
async function buildChain(scenario: Scenario) {
  const base = join(folder, `run-${run++}`);
  const paths = { parent: `${base}-parent.vhd`, child: `${base}-child.vhd`, grandchild: `${base}-grandchild.vhd` };
  const model = Buffer.alloc(SIZE);
  await createBase(paths.parent, { size: SIZE, type: scenario.parentType, blockSize: BLOCK });
  await apply(paths.parent, scenario.parentWrites, model);
  const parentExpected = Buffer.from(model);
  const parentDigest = await fileSha256(paths.parent);
  await createChild(paths.child, paths.parent, BLOCK);
  await apply(paths.child, scenario.childWrites, model);
  const childExpected = Buffer.from(model);
  const childDigest = await fileSha256(paths.child);
  await createChild(paths.grandchild, paths.child);
  await apply(paths.grandchild, scenario.grandchildWrites, model);
  return { paths, parentExpected, childExpected, grandchildExpected: model, parentDigest, childDigest };
}

describe("writeAt: random writes to parent, then child, then grandchild", () => {
  it("every level reads back exactly what was written, and no write touches an ancestor", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (scenario) => {
        const built = await buildChain(scenario);
        expect((await readComposed(built.paths.parent)).equals(built.parentExpected)).toBe(true);
        expect((await readComposed(built.paths.child)).equals(built.childExpected)).toBe(true);
        expect((await readComposed(built.paths.grandchild)).equals(built.grandchildExpected)).toBe(true);
        expect(await fileSha256(built.paths.parent)).toBe(built.parentDigest);
        expect(await fileSha256(built.paths.child)).toBe(built.childDigest);
        for (const path of [built.paths.child, built.paths.grandchild]) {
          expect(await bitmapsAreWholeBytes(path)).toBe(true);
          const { head, tail } = await footerCopies(path);
          expect(head.equals(tail)).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });

  it("pyvhdi reads the depth-3 chain as our model, and qemu-img map agrees with each BAT", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (scenario) => {
        const built = await buildChain(scenario);
        const chain = [built.paths.grandchild, built.paths.child, built.paths.parent];
        const pyvhdi = await pyvhdiReadChain(chain, join(folder, "pyvhdi.raw"));
        expect(pyvhdi.sha256).toBe(sha256(built.grandchildExpected));
        for (const path of chain) {
          if (path === built.paths.parent && scenario.parentType === "fixed") continue;
          // The grandchild has the default 2 MiB blocks, its ancestors 512 KiB ones: a chain may mix block sizes.
          const fromBat = await withImage(path, ({ bat, blockSize }) =>
            Array.from(bat ?? []).flatMap((entry, block) =>
              entry === 0xffffffff || blockSize === null
                ? []
                : [{ start: block * blockSize, offset: blockDataOffset(entry, blockSize) }],
            ),
          );
          const fromQemu = (await qemuImgMap(path))
            .filter((extent) => extent.data)
            .map((extent) => ({ start: extent.start, offset: extent.offset }));
          expect(fromQemu).toEqual(fromBat);
        }
      }),
      { numRuns: 8 },
    );
  });
});

describe("writeAt details", () => {
  let parentPath: string;
  let parentBytes: Buffer;
  beforeAll(async () => {
    parentPath = join(folder, "detail-parent.vhd");
    await createBase(parentPath, { size: 4 * MIB, type: "dynamic" });
    parentBytes = bytesOf({ offset: 0, length: 64 * 1024, seed: 7 });
    await writeAt(parentPath, 0, parentBytes);
  });

  async function freshChild(name: string): Promise<string> {
    const childPath = join(folder, name);
    await createChild(childPath, parentPath);
    return childPath;
  }

  it("merges a partial-sector write with the parent's bytes around it", async () => {
    const childPath = await freshChild("partial.vhd");
    const result = await writeAt(childPath, 700, Buffer.from([1, 2, 3]));
    expect(result).toMatchObject({ bytesWritten: 3, blocksAllocated: 1 });
    const expected = Buffer.concat([parentBytes, Buffer.alloc(4 * MIB - parentBytes.length)]);
    expected.set([1, 2, 3], 700);
    expect((await readComposed(childPath)).equals(expected)).toBe(true);
  });

  it("appends a new block from where the footer was, its data 4 KiB-aligned, and moves the footer to the new end", async () => {
    const childPath = await freshChild("grow.vhd");
    const before = (await stat(childPath)).size;
    await writeAt(childPath, 3 * MIB, Buffer.alloc(4096, 9));
    const after = await stat(childPath);
    const dataOffset = Math.ceil((before - 512 + 512) / 4096) * 4096;
    expect(after.size).toBe(dataOffset + 2 * MIB + 512);
    const { head, tail } = await footerCopies(childPath);
    expect(tail.equals(head)).toBe(true);
    const entry = await withImage(childPath, (image) => image.bat?.[1]);
    expect(entry).toBe((dataOffset - 512) / 512);
    // Nothing of the old footer is left before the new block's bitmap.
    const bytes = await readFile(childPath);
    expect(bytes.subarray(before - 512, dataOffset - 512).every((byte) => byte === 0)).toBe(true);
    expect((await inspectDisk(childPath)).alignment).toBe(1);
    // A second write into the same block allocates nothing.
    expect((await writeAt(childPath, 3 * MIB + 8192, Buffer.alloc(10, 1))).blocksAllocated).toBe(0);
    expect((await stat(childPath)).size).toBe(after.size);
  });

  it("writes a fixed disk in place", async () => {
    const path = join(folder, "fixed-in-place.vhd");
    await createBase(path, { size: MIB, type: "fixed" });
    await writeAt(path, MIB - 5, Buffer.from("tail!"));
    expect((await stat(path)).size).toBe(MIB + 512);
    expect((await readComposed(path)).subarray(MIB - 5).toString()).toBe("tail!");
  });

  it.each([
    { offset: 4 * MIB - 2, length: 3, parameter: "length" },
    { offset: -1, length: 1, parameter: "offset" },
    { offset: 0.5, length: 1, parameter: "offset" },
    { offset: 4 * MIB + 512, length: 0, parameter: "offset" },
  ])("refuses a range outside the disk ($offset + $length) and changes nothing", async ({ offset, length, parameter }) => {
    const childPath = await freshChild(`range-${offset}-${length}.vhd`);
    const digest = await fileSha256(childPath);
    await expect(writeAt(childPath, offset, Buffer.alloc(length, 1))).rejects.toMatchObject({
      code: "E_INVALIDARG",
      parameter,
      path: childPath,
    });
    expect(await fileSha256(childPath)).toBe(digest);
  });

  it("refuses an unaligned write into a child whose parent is gone, before writing anything", async () => {
    const lonelyParent = join(folder, "lonely-parent.vhd");
    await createBase(lonelyParent, { size: MIB, type: "dynamic" });
    const childPath = join(folder, "lonely-child.vhd");
    await createChild(childPath, lonelyParent);
    await rename(lonelyParent, join(folder, "moved-away.vhd"));
    const digest = await fileSha256(childPath);
    await expect(writeAt(childPath, 100, Buffer.alloc(10, 1))).rejects.toMatchObject({
      code: "ERROR_VHD_PARENT_VHD_NOT_FOUND",
    });
    expect(await fileSha256(childPath)).toBe(digest);
  });

  it("stops with VM_E_APP_SHUTTING_DOWN when cancelled before writing", async () => {
    const childPath = await freshChild("cancelled-write.vhd");
    const digest = await fileSha256(childPath);
    const controller = new AbortController();
    controller.abort();
    await expect(writeAt(childPath, 0, Buffer.alloc(4096, 1), { signal: controller.signal })).rejects.toMatchObject({
      code: "VM_E_APP_SHUTTING_DOWN",
    });
    expect(await fileSha256(childPath)).toBe(digest);
  });
});
