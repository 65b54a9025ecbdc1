/**
 * Crash safety of writeVhdxAt where it allocates: stopped after every write it makes (and with that write torn),
 * the file still opens and each block reads either its old or its new content, in an empty dynamic base (blocks
 * allocated, BAT entries FULLY_PRESENT) and in a child (blocks allocated PARTIALLY_PRESENT with sector bits).
 * Writes into blocks already in the file go in place, so there the guarantee is a disk's: per sector.
 */
import { describe, expect, test } from "vitest";
import { MIB } from "../../provider/vhdx/format";
import { openVhdx, type ParentReader } from "../../provider/vhdx/reader";
import { parentFactsOf, writeVhdxAt, writeVhdxBase, writeVhdxChild } from "../../provider/vhdx/writer";
import { MemoryFile, SimulatedCrash } from "../../provider/storage/memory/memory-file";
import { rawContent } from "../../provider/disk/content";

const SIZE = 8 * MIB;
const BLOCK = MIB;

async function baseBytes(fill: number): Promise<Uint8Array> {
  const file = new MemoryFile("base.vhdx", new Uint8Array(0));
  const raw = new MemoryFile("raw", new Uint8Array(SIZE).fill(fill));
  await writeVhdxBase(file, { kind: "dynamic", virtualSize: SIZE, blockSize: BLOCK, ...(fill === 0 ? {} : { content: rawContent(raw) }) });
  return Uint8Array.from(file.bytes);
}

async function childBytes(parent: Uint8Array): Promise<Uint8Array> {
  const image = await openVhdx(new MemoryFile("parent.vhdx", parent));
  const file = new MemoryFile("child.vhdx", new Uint8Array(0));
  await writeVhdxChild(file, { parent: parentFactsOf(image, { absoluteWin32Path: "\\\\?\\C:\\parent.vhdx" }), blockSize: BLOCK });
  return Uint8Array.from(file.bytes);
}

/** Runs the write against a copy of `initial` that crashes at `crashAt`; returns the bytes a crash leaves. */
async function crashed(initial: Uint8Array, crashAt: { writes: number; tornBytes?: number } | undefined, parent?: ParentReader): Promise<{ bytes: Uint8Array; writes: number }> {
  const file = new MemoryFile("disk.vhdx", initial, crashAt);
  const data = new Uint8Array(BLOCK + 8192).fill(0xee);
  await writeVhdxAt(file, BLOCK - 4096 - 100, data, { parent }).catch((error: unknown) => {
    if (!(error instanceof SimulatedCrash)) throw error;
  });
  return { bytes: file.bytes, writes: file.writes };
}

/** Each block of the disk `bytes` reads wholly old or wholly new, where `expectedNew` is the whole new content. */
async function expectOldOrNew(bytes: Uint8Array, old: Uint8Array, expectedNew: Uint8Array, parent?: ParentReader): Promise<void> {
  const image = await openVhdx(new MemoryFile("after.vhdx", bytes));
  const content = await image.read(0, SIZE, parent);
  for (let block = 0; block < SIZE / BLOCK; block++) {
    const range = [block * BLOCK, (block + 1) * BLOCK] as const;
    const got = Buffer.from(content.subarray(...range));
    const isOld = got.equals(Buffer.from(old.subarray(...range)));
    const isNew = got.equals(Buffer.from(expectedNew.subarray(...range)));
    expect(isOld || isNew, `block ${block}`).toBe(true);
  }
}

describe.each([
  ["a dynamic base", false],
  ["a differencing child", true],
] as const)("%s", (_, child) => {
  test("every crash point leaves old or new content per block", async () => {
    const parentBytes = await baseBytes(0x33);
    const parentImage = await openVhdx(new MemoryFile("parent.vhdx", parentBytes));
    const parent: ParentReader | undefined = child ? { read: (offset, length) => parentImage.read(offset, length) } : undefined;
    const initial = child ? await childBytes(parentBytes) : await baseBytes(0);
    const old = new Uint8Array(SIZE).fill(child ? 0x33 : 0);
    const expectedNew = Uint8Array.from(old);
    expectedNew.fill(0xee, BLOCK - 4096 - 100, 2 * BLOCK + 8192 - 4096 - 100);
    const { writes } = await crashed(initial, undefined, parent);
    expect(writes).toBeGreaterThan(3);
    await expectOldOrNew((await crashed(initial, undefined, parent)).bytes, old, expectedNew, parent);
    for (let point = 0; point < writes; point++) {
      for (const tornBytes of [0, 5]) {
        const { bytes } = await crashed(initial, { writes: point, tornBytes }, parent);
        await expectOldOrNew(bytes, old, expectedNew, parent);
      }
    }
  });
});
