/**
 * The relink's crash safety, through the storage port: the relink runs on an in-memory file that stops after write
 * N (whole, or torn after its first sector), for every N; what that leaves is put back at the child's path and must
 * open, strictly, against the old or the new parent path, read exactly as before (ours and pyvhdi), and keep every
 * data block byte for byte. Running the relink again on any such state completes it.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryFile, SimulatedCrash, type CrashPoint } from "../../../provider/storage/memory/memory-file";
import { pyvhdiReadChain, vhdiinfo } from "../../support/oracles";
import { openChain } from "../../../provider/disk/chain";
import { VhdImage, openDiskImage, readDiskImage } from "../../../provider/vhd/reader/reader";
import { FOOTER_SIZE, UNUSED_BAT_ENTRY, bitmapSize, blockBitmapOffset } from "../../../provider/vhd/format";
import { readParentFacts } from "../../../provider/vhd/writer/parent-footer";
import { parentLinkFor, type ParentLink } from "../../../provider/vhd/writer/parent-link";
import { planRelink, relinkParent, type RelinkStep } from "../../../provider/vhd/writer/relink";
import { writeAt } from "../../../provider/vhd/writer/block-writer";
import { MIB, createBase, createChild, readComposed, sha256, tempFolder } from "./disks";
import { localStorage } from "../../../provider/storage/local/local-storage";

const BLOCK = 512 * 1024;
const SIZE = 4 * MIB;

let folder: string;
let cleanup: () => Promise<void>;
let oldParent: string;
let newParent: string;
let child: string;
let original: Uint8Array;
let expected: Buffer;
let link: ParentLink;

beforeAll(async () => {
  ({ folder, cleanup } = await tempFolder("relink"));
  oldParent = join(folder, "golden.vhd");
  newParent = join(folder, "moved", "golden-2026.vhd");
  child = join(folder, "vm", "os.vhd");
  await createBase(oldParent, { size: SIZE, type: "dynamic", blockSize: BLOCK });
  await writeAt(oldParent, 0, Buffer.alloc(3 * BLOCK, 0x11));
  await mkdir(join(folder, "vm"));
  await createChild(child, oldParent, BLOCK);
  await writeAt(child, BLOCK, Buffer.alloc(BLOCK + 8192, 0x22));
  await writeAt(child, SIZE - 4096, Buffer.alloc(4096, 0x33));
  await mkdir(join(folder, "moved"));
  await copyFile(oldParent, newParent);
  original = await readFile(child);
  expected = await readComposed(child);
  const facts = await readParentFacts(localStorage, newParent);
  link = parentLinkFor({ childPath: child, parentPath: newParent, parentFooter: facts.footer, parentModified: facts.modified });
});
afterAll(async () => {
  await cleanup();
});

/** Runs the relink on a memory copy of `bytes` that crashes at `crash` (never when omitted); returns what is left. */
async function relinkInMemory(bytes: Uint8Array, crash?: CrashPoint): Promise<{ bytes: Uint8Array; crashed: boolean; writes: number }> {
  const file = new MemoryFile(child, bytes, crash);
  const crashed = await relinkParent(file, link).then(
    () => false,
    (error: unknown) => {
      if (error instanceof SimulatedCrash) return true;
      throw error;
    },
  );
  return { bytes: file.bytes, crashed, writes: file.writes };
}

/** The parent the child at `child` (holding `bytes`) resolves to, after checking it opens strictly and reads as before. */
async function checkState(bytes: Uint8Array): Promise<string> {
  await writeFile(child, bytes);
  const strict = await openDiskImage(child, { strict: true });
  await strict.close();
  const chain = await openChain(child, { strict: true });
  try {
    expect(Buffer.from(await chain.read(0, chain.virtualSize)).equals(expected)).toBe(true);
    const resolved = chain.images[1]?.path ?? "";
    expect([oldParent, newParent]).toContain(resolved);
    // Every record of the parent names the same one: no mix of an old locator and a new name.
    const leaf = chain.leaf;
    if (!(leaf instanceof VhdImage)) throw new Error(`${child} opened as ${leaf.format}, not as a VHD`);
    const named = resolved === newParent ? "golden-2026.vhd" : "golden.vhd";
    expect(leaf.header?.parentUnicodeName).toBe(named);
    for (const locator of leaf.locators) expect(locator.path?.endsWith(named)).toBe(true);
    return resolved;
  } finally {
    await chain.close();
  }
}

/** Each allocated block of the original child (bitmap and data) and the BAT, byte for byte, in `bytes`. */
async function expectBlocksUntouched(bytes: Uint8Array): Promise<void> {
  const image = await readDiskImage(new MemoryFile(child, original));
  const { header, bat } = image;
  if (header === null || bat === null) throw new Error("the child has no BAT");
  const batBytes = bat.length * 4;
  const same = (offset: number, length: number): boolean =>
    Buffer.from(bytes.subarray(offset, offset + length)).equals(original.subarray(offset, offset + length));
  expect(same(header.tableOffset, batBytes)).toBe(true);
  bat.forEach((entry) => {
    if (entry !== UNUSED_BAT_ENTRY) expect(same(blockBitmapOffset(entry), bitmapSize(BLOCK) + BLOCK)).toBe(true);
  });
}

describe("relinkParent", () => {
  it("relinks to the moved parent: same size, same blocks, the new path recorded, read as before by us and libvhdi", async () => {
    const { bytes, crashed } = await relinkInMemory(original);
    expect(crashed).toBe(false);
    expect(bytes.length).toBe(original.length);
    expect(await checkState(bytes)).toBe(newParent);
    await expectBlocksUntouched(bytes);
    const copy = join(folder, "pyvhdi.raw");
    const read = await pyvhdiReadChain([child, newParent], copy);
    expect(read.sha256).toBe(sha256(expected));
    const info = await vhdiinfo(child);
    expect(info.parentFilename).toBe("golden-2026.vhd");
    // With the old parent gone the child still opens: it no longer needs it.
    const moved = join(folder, "golden.vhd.away");
    await copyFile(oldParent, moved);
    await rm(oldParent);
    try {
      expect((await readComposed(child)).equals(expected)).toBe(true);
    } finally {
      await copyFile(moved, oldParent);
      await rm(moved);
    }
  });

  it("leaves a child that opens against the old or the new path after a crash at any write, whole or torn", async () => {
    const total = (await relinkInMemory(original)).writes;
    expect(total).toBeGreaterThanOrEqual(8);
    const seen = new Set<string>();
    for (let writes = 0; writes < total; writes++) {
      for (const tornBytes of [0, 512]) {
        const state = await relinkInMemory(original, { writes, tornBytes });
        expect(state.crashed).toBe(true);
        const resolved = await checkState(state.bytes).catch((error: unknown) => {
          throw new Error(`after ${writes} writes (torn ${tornBytes}): ${String(error)}`);
        });
        seen.add(resolved);
        await expectBlocksUntouched(state.bytes);
        if (tornBytes === 0) {
          const read = await pyvhdiReadChain([child, resolved], join(folder, "pyvhdi.raw"));
          expect(read.sha256, `pyvhdi after ${writes} writes`).toBe(sha256(expected));
        }
        // Running it again completes the relink.
        const rerun = await relinkInMemory(state.bytes);
        expect(rerun.crashed).toBe(false);
        expect(await checkState(rerun.bytes)).toBe(newParent);
        await expectBlocksUntouched(rerun.bytes);
      }
    }
    // The crash points cover both sides of the switch.
    expect([...seen].sort()).toEqual([oldParent, newParent].sort());
  });

  it("leaves a child that opens after a crash that kept any subset of the writes since the last sync", async () => {
    // The crash test above applies writes in order; storage need not. Between two syncs any of the writes may have
    // reached the disk and any not, so each such subset (with everything before the last sync) must be safe too.
    const image = await readDiskImage(new MemoryFile(child, original), { strict: true });
    const tail = original.slice(image.footerOffset, image.footerOffset + FOOTER_SIZE);
    const steps = planRelink(image, tail, link);
    const apply = (bytes: Uint8Array, step: RelinkStep): Uint8Array => {
      if (step.kind === "sync") return bytes;
      if (step.kind === "truncate") return bytes.slice(0, step.size);
      const end = step.offset + step.bytes.length;
      const next = new Uint8Array(Math.max(bytes.length, end));
      next.set(bytes);
      next.set(step.bytes, step.offset);
      return next;
    };
    let synced: Uint8Array = original;
    let epoch: RelinkStep[] = [];
    for (const step of [...steps, { kind: "sync" } as const]) {
      if (step.kind !== "sync") {
        epoch.push(step);
        continue;
      }
      for (let subset = 0; subset < 2 ** epoch.length; subset++) {
        const bytes = epoch.reduce((state, pending, index) => (subset & (2 ** index) ? apply(state, pending) : state), synced);
        await checkState(bytes).catch((error: unknown) => {
          throw new Error(`after ${steps.indexOf(epoch[0] as RelinkStep)} steps, keeping subset ${subset} of ${epoch.length}: ${String(error)}`);
        });
      }
      synced = epoch.reduce(apply, synced);
      epoch = [];
    }
  });

  it("refuses a parent path longer than the child's locator areas hold, writing nothing", async () => {
    const facts = await readParentFacts(localStorage, newParent);
    const longPath = join(folder, ...Array.from({ length: 4 }, (_, index) => `${index}`.repeat(150)), "golden.vhd");
    const longLink = parentLinkFor({ childPath: child, parentPath: longPath, parentFooter: facts.footer, parentModified: facts.modified });
    const file = new MemoryFile(child, original);
    // The parameter at fault is the parent path; the file is the child, named as such (not as the parent path).
    await expect(relinkParent(file, longLink)).rejects.toMatchObject({
      code: "ERROR_VIRTUAL_DISK_LIMITATION",
      parameter: "parentPath",
      path: child,
      pathParameter: "imagePath",
      message: expect.stringContaining(`parentPath, imagePath ${JSON.stringify(child)}: `),
    });
    expect(file.writes).toBe(0);
  });

  it("refuses a disk that is not a differencing disk, writing nothing", async () => {
    const base = new MemoryFile(oldParent, await readFile(oldParent));
    await expect(relinkParent(base, link)).rejects.toMatchObject({ code: "ERROR_VHD_INVALID_TYPE" });
    expect(base.writes).toBe(0);
  });
});
