/**
 * VHDX chains through the format seam: children made by `createDifferencingDisk` (the VHDX driver), resolved by the
 * chain walk through the parent locator and checked by parent_linkage; reads compared with a model and with pyvhdi
 * (libvhdi), writes going through `writeVhdxAt` with the chain's parent reader; mixed VHD/VHDX refused.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { openChain } from "../../provider/disk/chain";
import { childDisksInFolder } from "../../provider/disk/child-disks";
import { openDisk } from "../../provider/disk/formats";
import { vhdDriver } from "../../provider/vhd/driver";
import { toyDriver, writeToyDisk } from "../disk/toy-format";
import { isVhdError } from "../../provider/errors";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { createFileAtomically } from "../../provider/storage/atomic-create";
import { localStorage } from "../../provider/storage/local/local-storage";
import { relinkVhdx, type VhdxParentLink } from "../../provider/vhdx/relink";
import { writeVhdxAt, writeVhdxBase } from "../../provider/vhdx/writer";
import { pyvhdiReadChain } from "../support/oracles";
import { useTempDir } from "../vhd/reader/temp-dir";
import { MIB, createBase } from "../vhd/writer/disks";
import { HAVE } from "./support";

const temp = useTempDir("vhdx-chain");
const SIZE = 48 * MIB;

async function createVhdxBase(path: string): Promise<void> {
  await createFileAtomically(path, (file) => writeVhdxBase(file, { kind: "dynamic", virtualSize: SIZE, blockSize: MIB }), {
    storage: localStorage,
  });
}

/**
 * Writes `data` at `offset` of the disk at `path` through its chain, as `vhd write` does: the parent's bytes come
 * from the chain below (needed at a child's unaligned edges); the model gets the same bytes.
 */
async function writeThroughChain(path: string, offset: number, data: Uint8Array, model: Uint8Array): Promise<void> {
  const chain = await openChain(path);
  const file = await localStorage.open(path, { writable: true });
  try {
    const below = chain.images.length > 1 ? await openChain(chain.images[1]?.path ?? "") : null;
    try {
      await writeVhdxAt(file, offset, data, below === null ? {} : { parent: { read: (at, length) => below.read(at, length) } });
    } finally {
      await below?.close();
    }
  } finally {
    await file.close();
    await chain.close();
  }
  model.set(data, offset);
}

/** Random writes in whole 4 KiB units (libvhdi misreads a bitmap byte with a set bit before a clear one, §6). */
async function randomWrites(path: string, model: Uint8Array, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const length = (1 + Math.floor(Math.random() * 96)) * 4096;
    const offset = Math.floor(Math.random() * ((SIZE - length) / 4096)) * 4096;
    await writeThroughChain(path, offset, randomBytes(length), model);
  }
}

async function readAll(path: string): Promise<Uint8Array> {
  const chain = await openChain(path);
  try {
    return await chain.read(0, chain.virtualSize);
  } finally {
    await chain.close();
  }
}

async function expectError(promise: Promise<unknown>, code: string): Promise<Error> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(isVhdError(error) ? error.code : error).toBe(code);
  return error as Error;
}

describe("VHDX chains", () => {
  test("a depth-3 chain with random writes to each disk before its child reads as the model, and as pyvhdi reads it", async (ctx) => {
    const folder = join(temp.path(), "depth3");
    await mkdir(folder);
    const model = new Uint8Array(SIZE);
    const base = join(folder, "golden.vhdx");
    await createVhdxBase(base);
    await randomWrites(base, model, 6);
    const chain = [base];
    for (const name of ["a.vhdx", "b.vhdx", "c.vhdx"]) {
      const child = join(folder, name);
      const created = await createDifferencingDisk({ imagePath: child, parentPath: chain[0] });
      expect(created.format).toBe("vhdx");
      expect(created.parent?.uniqueId).toBe(created.chain[0]?.uniqueId);
      chain.unshift(child);
      await randomWrites(child, model, 6);
    }
    const opened = await openChain(chain[0] as string);
    try {
      expect(opened.images.map((image) => image.path)).toEqual(chain);
      expect(opened.images.map((image) => image.format)).toEqual(["vhdx", "vhdx", "vhdx", "vhdx"]);
    } finally {
      await opened.close();
    }
    const ours = await readAll(chain[0] as string);
    expect(Buffer.compare(ours, model)).toBe(0);
    if (!HAVE.pyvhdi) return ctx.skip("pyvhdi (libvhdi's Python binding) is not installed");
    const out = join(folder, "pyvhdi.raw");
    const theirs = await pyvhdiReadChain(chain, out);
    expect(theirs.mediaSize).toBe(SIZE);
    expect(Buffer.compare(await readFile(out), model)).toBe(0);
  });

  test("a write into the parent changes its DataWriteGuid: the child then fails with ERROR_VHD_CHILD_PARENT_ID_MISMATCH", async () => {
    const folder = join(temp.path(), "linkage");
    await mkdir(folder);
    const base = join(folder, "golden.vhdx");
    const child = join(folder, "child.vhdx");
    await createVhdxBase(base);
    await createDifferencingDisk({ imagePath: child, parentPath: base });
    await writeThroughChain(base, 0, new Uint8Array(4096).fill(1), new Uint8Array(SIZE));
    const error = await expectError(openChain(child), "ERROR_VHD_CHILD_PARENT_ID_MISMATCH");
    expect(error.message).toContain(base);
  });

  test("a parent matching only parent_linkage2 is the parent (either key, §2.6.2.6.3); one matching neither is not", async () => {
    const folder = join(temp.path(), "linkage2");
    await mkdir(folder);
    const base = join(folder, "golden.vhdx");
    const child = join(folder, "child.vhdx");
    await createVhdxBase(base);
    await createDifferencingDisk({ imagePath: child, parentPath: base });
    const model = new Uint8Array(SIZE);
    await writeThroughChain(child, 3 * MIB, randomBytes(2 * MIB), model);
    const childImage = await openDisk(child);
    const parentImage = await openDisk(base);
    const [childId, parentId] = [childImage.uniqueId, parentImage.uniqueId];
    await Promise.all([childImage.close(), parentImage.close()]);
    const paths = { relativePath: ".\\golden.vhdx", absoluteWin32Path: `\\\\?\\${base.slice(1).split("/").join("\\")}` };
    const relink = async (link: VhdxParentLink): Promise<void> => {
      const file = await localStorage.open(child, { writable: true });
      try {
        await relinkVhdx(file, link, childId);
      } finally {
        await file.close();
      }
    };
    // parent_linkage names a DataWriteGuid the parent no longer has; parent_linkage2 its current one.
    await relink({ dataWriteGuid: randomUUID(), nextDataWriteGuid: parentId, ...paths });
    expect(Buffer.compare(await readAll(child), model)).toBe(0);
    expect(await childDisksInFolder(folder, parentId)).toEqual([child]);
    await relink({ dataWriteGuid: randomUUID(), nextDataWriteGuid: randomUUID(), ...paths });
    await expectError(openChain(child), "ERROR_VHD_CHILD_PARENT_ID_MISMATCH");
    expect(await childDisksInFolder(folder, parentId)).toEqual([]);
  });

  test("the parent is found by relative_path when the chain moves as a whole, by the spec's order", async () => {
    const folder = join(temp.path(), "moved");
    await mkdir(join(folder, "golden"), { recursive: true });
    await mkdir(join(folder, "vm"));
    const base = join(folder, "golden", "base.vhdx");
    await createVhdxBase(base);
    await createDifferencingDisk({ imagePath: join(folder, "vm", "child.vhdx"), parentPath: base });
    const moved = join(temp.path(), "moved-elsewhere");
    await rename(folder, moved);
    const chain = await openChain(join(moved, "vm", "child.vhdx"));
    try {
      expect(chain.images[1]?.path).toBe(join(moved, "golden", "base.vhdx"));
      const attempts = chain.links[0]?.attempts ?? [];
      expect(attempts[0]).toMatchObject({ source: "relative_path", result: "found" });
    } finally {
      await chain.close();
    }
  });

  test("a VHDX child of a VHD parent, and a VHD child of a VHDX parent, are refused before anything is written", async () => {
    const folder = join(temp.path(), "mixed");
    await mkdir(folder);
    const vhd = join(folder, "golden.vhd");
    const vhdx = join(folder, "golden.vhdx");
    await createBase(vhd, { size: SIZE, type: "dynamic" });
    await createVhdxBase(vhdx);
    const before = await readFile(vhd);
    for (const [imagePath, parentPath] of [
      [join(folder, "child.vhdx"), vhd],
      [join(folder, "child.vhd"), vhdx],
    ] as const) {
      const error = await expectError(createDifferencingDisk({ imagePath, parentPath }), "ERROR_VHD_INVALID_TYPE");
      expect(error.message).toContain("parentPath");
      expect(existsSync(imagePath)).toBe(false);
    }
    expect(Buffer.compare(await readFile(vhd), before)).toBe(0);
    expect((await readdir(folder)).sort()).toEqual(["golden.vhd", "golden.vhdx"]);
  });

  test("a chain found mixing formats on disk is refused by the walk with ERROR_VHD_INVALID_TYPE naming both files", async () => {
    // The toy driver (test/disk/toy-format.ts) calls its format "vhdx" and records any id it is given: a child of
    // another format than its VHD parent whose linkage matches, which no real writer here makes.
    const folder = join(temp.path(), "mixed-walk");
    await mkdir(folder);
    const vhd = join(folder, "golden.vhd");
    await createBase(vhd, { size: SIZE, type: "dynamic" });
    const parent = await openDisk(vhd);
    const uniqueId = parent.uniqueId;
    await parent.close();
    const child = join(folder, "child.toy");
    await writeToyDisk(child, { uniqueId: "C", virtualSize: SIZE, kind: "differencing", parent: { uniqueId, name: "golden.vhd", candidates: [vhd] }, data: [] });
    const error = await expectError(openChain(child, { drivers: [vhdDriver, toyDriver] }), "ERROR_VHD_INVALID_TYPE");
    expect(error.message).toContain(child);
    expect(error.message).toContain(vhd);
    expect(error.message).toMatch(/VHDX child .* VHD disk/);
  });
});
