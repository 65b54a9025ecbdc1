/**
 * VHDX files we write, checked by the oracles (docs/vhdx-format.md §7, §8 step 14): vhdiinfo's facts; qemu-img info,
 * check and convert for bases; pyvhdi's reading of bases and chains byte for byte against ours. Known oracle
 * limits, each checked another way: qemu-img refuses differencing VHDX and 4 KiB logical sectors ("Operation not
 * supported": the test asserts exactly that refusal, and pyvhdi reads the file); libvhdi ignores relative_path
 * (children get an absolute_win32_path too, whose file name vhdiinfo shows).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { RandomAccessFile } from "../../provider/storage/random-access-file";
import { localStorage } from "../../provider/storage/local/local-storage";
import { MIB } from "../../provider/vhdx/format";
import { openVhdx } from "../../provider/vhdx/reader";
import {
  bracedGuid,
  parentFactsOf,
  writeVhdxAt,
  writeVhdxBase,
  writeVhdxChild,
  type VhdxBaseOptions,
  type VhdxChildOptions,
} from "../../provider/vhdx/writer";
import { pyvhdiReadChain, vhdiinfo } from "../support/oracles";
import { useTempDir } from "../vhd/reader/temp-dir";
import { fillNewFile, HAVE, openVhdxPath, parentReader, run } from "./support";
import { rawContent } from "../../provider/disk/content";

const temp = useTempDir("vhdx-writer");

/** A raw image: random bytes in a few places, zeros elsewhere (so a dynamic disk skips blocks). */
function rawImage(size: number): Uint8Array {
  const raw = new Uint8Array(size);
  for (const at of [0, 3 * MIB + 17, size - 4096]) raw.set(randomBytes(4096), at);
  return raw;
}

function create(name: string, fill: (file: RandomAccessFile) => Promise<void>): Promise<string> {
  return fillNewFile(join(temp.path(), name), fill);
}

async function createBase(name: string, options: VhdxBaseOptions, raw?: Uint8Array): Promise<string> {
  const rawPath = raw === undefined ? undefined : join(temp.path(), `${name}.source.raw`);
  if (rawPath !== undefined && raw !== undefined) await writeFile(rawPath, raw);
  return create(name, async (file) => {
    const fromRaw = rawPath === undefined ? undefined : await localStorage.open(rawPath);
    try {
      await writeVhdxBase(file, { ...options, ...(fromRaw && { content: rawContent(fromRaw) }) });
    } finally {
      await fromRaw?.close();
    }
  });
}

async function writeAt(path: string, offset: number, data: Uint8Array, parentPath?: string): Promise<void> {
  const file = await localStorage.open(path, { writable: true });
  const parent = parentPath === undefined ? undefined : await openVhdxPath(parentPath);
  try {
    await writeVhdxAt(file, offset, data, { parent: parent === undefined ? undefined : parentReader(parent) });
  } finally {
    await file.close();
    await parent?.close();
  }
}

async function readWhole(path: string, parentPath?: string): Promise<Uint8Array> {
  const image = await openVhdxPath(path);
  const parent = parentPath === undefined ? undefined : await openVhdxPath(parentPath);
  try {
    return await image.read(0, image.virtualSize, parent === undefined ? undefined : parentReader(parent));
  } finally {
    await image.close();
    await parent?.close();
  }
}

const SIZE = 40 * MIB;
const BASES: readonly [string, VhdxBaseOptions][] = [
  ["dynamic, 1 MiB blocks", { kind: "dynamic", virtualSize: SIZE, blockSize: MIB }],
  ["dynamic, default 32 MiB blocks", { kind: "dynamic", virtualSize: SIZE }],
  ["dynamic, 256 MiB blocks", { kind: "dynamic", virtualSize: SIZE, blockSize: 256 * MIB }],
  ["fixed, default 2 MiB blocks", { kind: "fixed", virtualSize: SIZE }],
  ["dynamic, 4 KiB logical sectors", { kind: "dynamic", virtualSize: SIZE, logicalSectorSize: 4096 }],
];

describe.each(BASES)("a base VHDX: %s", (label, options) => {
  const name = `${label.replace(/\W+/g, "-")}.vhdx`;
  const raw = rawImage(SIZE);
  const fourK = options.logicalSectorSize === 4096;

  test("from a raw image: our reader, vhdiinfo and pyvhdi agree with the raw bytes", async (ctx) => {
    const path = await createBase(name, options, raw);
    const image = await openVhdxPath(path);
    expect(image.kind).toBe(options.kind);
    expect(image.virtualSize).toBe(SIZE);
    await image.close();
    expect(Buffer.compare(Buffer.from(await readWhole(path)), Buffer.from(raw))).toBe(0);
    if (!HAVE.vhdiinfo || !HAVE.pyvhdi) ctx.skip("vhdiinfo and pyvhdi (libvhdi) are not both installed here");
    const info = await vhdiinfo(path);
    expect(info.fields["Format"]).toBe("VHDX (version 2)");
    expect(info.diskType).toBe(options.kind === "fixed" ? "Fixed" : "Dynamic");
    expect(info.mediaSize).toBe(SIZE);
    expect(info.fields["Bytes per sector"]).toBe(`${options.logicalSectorSize ?? 512} bytes`);
    const out = `${path}.pyvhdi.raw`;
    await pyvhdiReadChain([path], out);
    expect(Buffer.compare(await readFile(out), Buffer.from(raw))).toBe(0);
  });

  test("qemu-img info, check and convert accept it (4 KiB sectors: qemu 7.2 refuses them, a known limit)", async (ctx) => {
    if (!HAVE.qemuImg) ctx.skip("qemu-img (qemu-utils) is not installed here");
    const path = join(temp.path(), name);
    if (fourK) {
      await expect(run("qemu-img", ["info", "-f", "vhdx", path])).rejects.toThrow(/Operation not supported/);
      return;
    }
    const { stdout } = await run("qemu-img", ["info", "--output=json", "-f", "vhdx", path]);
    const info = JSON.parse(stdout) as { "virtual-size": number; "cluster-size": number };
    expect(info["virtual-size"]).toBe(SIZE);
    expect(info["cluster-size"]).toBe(options.blockSize ?? (options.kind === "fixed" ? 2 * MIB : 32 * MIB));
    await run("qemu-img", ["check", "-f", "vhdx", path]);
    const out = `${path}.qemu.raw`;
    await run("qemu-img", ["convert", "-f", "vhdx", "-O", "raw", path, out]);
    expect(Buffer.compare(await readFile(out), Buffer.from(raw))).toBe(0);
  });

  test("a write changes DataWriteGuid, lands, and qemu-img still agrees", async (ctx) => {
    const path = join(temp.path(), name);
    const before = await openVhdxPath(path);
    const guid = before.dataWriteGuid;
    await before.close();
    const data = randomBytes(3 * MIB + 5);
    const at = 7 * MIB + 3;
    await writeAt(path, at, data);
    raw.set(data, at);
    const after = await openVhdxPath(path);
    expect(after.dataWriteGuid).not.toBe(guid);
    await after.close();
    expect(Buffer.compare(Buffer.from(await readWhole(path)), Buffer.from(raw))).toBe(0);
    if (!HAVE.qemuImg || fourK) ctx.skip("qemu-img is not installed, or refuses this disk: qemu-img 7.2 does not open 4 KiB-sector VHDX (our reader checked it above)");
    await run("qemu-img", ["check", "-f", "vhdx", path]);
    const out = `${path}.qemu2.raw`;
    await run("qemu-img", ["convert", "-f", "vhdx", "-O", "raw", path, out]);
    expect(Buffer.compare(await readFile(out), Buffer.from(raw))).toBe(0);
  });
});

describe("a differencing VHDX child", () => {
  const parentRaw = rawImage(SIZE);
  const composed = Uint8Array.from(parentRaw);

  async function makeChain(childOptions: Omit<VhdxChildOptions, "parent"> = {}): Promise<{ parent: string; child: string }> {
    const parent = await createBase("parent.vhdx", { kind: "dynamic", virtualSize: SIZE, blockSize: MIB }, parentRaw);
    const image = await openVhdxPath(parent);
    const facts = parentFactsOf(image, { relativePath: "parent.vhdx", absoluteWin32Path: "\\\\?\\C:\\images\\parent.vhdx" });
    await image.close();
    const child = await create("child.vhdx", (file) => writeVhdxChild(file, { ...childOptions, parent: facts }));
    return { parent, child };
  }

  test("is made with the parent's facts and Hyper-V's locator keys; vhdiinfo names the parent", async (ctx) => {
    const { parent, child } = await makeChain();
    const parentImage = await openVhdxPath(parent);
    const image = await openVhdxPath(child);
    expect(image.kind).toBe("differencing");
    expect(image.virtualSize).toBe(SIZE);
    expect(image.virtualDiskId).toBe(parentImage.virtualDiskId);
    expect(image.parentLocator?.parentLinkage).toBe(bracedGuid(parentImage.dataWriteGuid));
    expect(image.parentLocator?.entries.map((entry) => entry.key)).toEqual(["parent_linkage", "relative_path", "absolute_win32_path"]);
    await image.close();
    await parentImage.close();
    if (!HAVE.vhdiinfo) ctx.skip("vhdiinfo (libvhdi-utils) is not installed here");
    const info = await vhdiinfo(child);
    expect(info.fields["Format"]).toBe("VHDX (version 2)");
    expect(info.diskType).toBe("Differential");
    expect(info.mediaSize).toBe(SIZE);
    expect(`{${info.parentIdentifier ?? ""}}`).toBe(image.parentLocator?.parentLinkage);
    expect(info.parentFilename).toContain("parent.vhdx");
  });

  test("reads through its parent, and after writes pyvhdi reads the chain as we do", async (ctx) => {
    const { parent, child } = await makeChain();
    expect(Buffer.compare(Buffer.from(await readWhole(child, parent)), Buffer.from(parentRaw))).toBe(0);
    const parentBytes = await readFile(parent);
    // Unaligned edges (filled from the parent), a run across blocks, and a rewrite of a written range.
    for (const [at, length] of [[100, 3000], [MIB - 512, 2 * MIB + 1024], [5 * MIB, 4096], [5 * MIB + 512, 512]] as const) {
      const data = randomBytes(length);
      await writeAt(child, at, data, parent);
      composed.set(data, at);
    }
    expect(Buffer.compare(await readFile(parent), parentBytes)).toBe(0);
    expect(Buffer.compare(Buffer.from(await readWhole(child, parent)), Buffer.from(composed))).toBe(0);
    if (!HAVE.pyvhdi) ctx.skip("pyvhdi (python3-pyvhdi) is not installed here");
    // The first write changed the child's DataWriteGuid, never the parent's: the linkage still matches for pyvhdi.
    const out = `${child}.pyvhdi.raw`;
    await pyvhdiReadChain([child, parent], out);
    expect(Buffer.compare(await readFile(out), Buffer.from(composed))).toBe(0);
  });

  test("qemu-img refuses it (qemu does not open differencing VHDX, a known limit), and no other error", async (ctx) => {
    if (!HAVE.qemuImg) ctx.skip("qemu-img (qemu-utils) is not installed here");
    const { child } = await makeChain();
    await expect(run("qemu-img", ["info", "-f", "vhdx", child])).rejects.toThrow(/Operation not supported/);
  });

  test("a child with 4 KiB logical sectors off a 4 KiB parent reads through pyvhdi as ours", async (ctx) => {
    const raw = rawImage(SIZE);
    const parent = await createBase("parent4k.vhdx", { kind: "dynamic", virtualSize: SIZE, logicalSectorSize: 4096 }, raw);
    const parentImage = await openVhdxPath(parent);
    const facts = parentFactsOf(parentImage, { absoluteWin32Path: "\\\\?\\C:\\images\\parent4k.vhdx" });
    await parentImage.close();
    const child = await create("child4k.vhdx", (file) => writeVhdxChild(file, { parent: facts }));
    const data = randomBytes(10000);
    await writeAt(child, 4096 * 3 + 10, data, parent);
    raw.set(data, 4096 * 3 + 10);
    expect(Buffer.compare(Buffer.from(await readWhole(child, parent)), Buffer.from(raw))).toBe(0);
    if (!HAVE.pyvhdi) ctx.skip("pyvhdi (python3-pyvhdi) is not installed here");
    const out = `${child}.pyvhdi.raw`;
    await pyvhdiReadChain([child, parent], out);
    expect(Buffer.compare(await readFile(out), Buffer.from(raw))).toBe(0);
  });
});

test("openVhdx reads what writeVhdxBase wrote into any RandomAccessFile", async () => {
  const path = await createBase("plain.vhdx", { kind: "dynamic", virtualSize: 8 * MIB, blockSize: MIB });
  const file = await localStorage.open(path);
  const image = await openVhdx(file);
  expect(image.blockSize).toBe(MIB);
  expect(image.physicalSectorSize).toBe(4096);
  expect(await image.mapRange(0, 8 * MIB)).toEqual([{ kind: "zero", offset: 0, length: 8 * MIB }]);
  await image.close();
});

test("sessions given one DataWriteGuid (a merge's) write under it, in whatever form it was given; the data lands", async () => {
  const raw = rawImage(8 * MIB);
  const path = await createBase("merge-target.vhdx", { kind: "dynamic", virtualSize: 8 * MIB, blockSize: MIB }, raw);
  const guid = randomUUID();
  const opened = await openVhdxPath(path);
  const fileWriteGuids = [opened.fileWriteGuid];
  await opened.close();
  for (const [at, form] of [[MIB + 512, `{${guid.toUpperCase()}}`], [5 * MIB, guid]] as const) {
    const data = randomBytes(MIB);
    const file = await localStorage.open(path, { writable: true });
    try {
      await writeVhdxAt(file, at, data, { dataWriteGuid: form });
    } finally {
      await file.close();
    }
    raw.set(data, at);
    const image = await openVhdxPath(path);
    expect(image.dataWriteGuid).toBe(guid);
    fileWriteGuids.push(image.fileWriteGuid);
    await image.close();
  }
  // Each session still renews FileWriteGuid (§2.2.2).
  expect(new Set(fileWriteGuids).size).toBe(3);
  expect(Buffer.compare(Buffer.from(await readWhole(path)), Buffer.from(raw))).toBe(0);
});
