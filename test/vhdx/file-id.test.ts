/**
 * A VHDX's two identities (disk/image.ts): the linkage id (DataWriteGuid), which every write session renews, and the
 * file id (our user metadata item), which the resource keeps as the disk it created and which no data write
 * changes: not ours, not qemu's (qemu-io writes through its own log and header updates). Siblings and parent and
 * child, which share the Virtual Disk ID, each get their own file id.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { expect, test } from "vitest";
import { localStorage } from "../../provider/storage/local/local-storage";
import type { RandomAccessFile } from "../../provider/storage/random-access-file";
import { MIB } from "../../provider/vhdx/format";
import { parentFactsOf, writeVhdxAt, writeVhdxBase, writeVhdxChild } from "../../provider/vhdx/writer";
import { useTempDir } from "../vhd/reader/temp-dir";
import { fillNewFile, HAVE, openVhdxPath, parentReader, run } from "./support";

const temp = useTempDir("vhdx-file-id");

function create(name: string, fill: (file: RandomAccessFile) => Promise<void>): Promise<string> {
  return fillNewFile(join(temp.path(), name), fill);
}

async function identities(path: string): Promise<{ fileId: string; uniqueId: string; virtualDiskId: string }> {
  const image = await openVhdxPath(path);
  try {
    return { fileId: image.fileId, uniqueId: image.uniqueId, virtualDiskId: image.virtualDiskId };
  } finally {
    await image.close();
  }
}

async function writeInto(path: string, offset: number, data: Uint8Array, parentPath?: string): Promise<void> {
  const parentImage = parentPath === undefined ? undefined : await openVhdxPath(parentPath);
  const file = await localStorage.open(path, { writable: true });
  try {
    await writeVhdxAt(file, offset, data, { parent: parentImage === undefined ? undefined : parentReader(parentImage) });
  } finally {
    await file.close();
    await parentImage?.close();
  }
}

async function makeBase(name: string): Promise<string> {
  return create(name, (file) => writeVhdxBase(file, { kind: "dynamic", virtualSize: 16 * MIB, blockSize: MIB }));
}

async function makeChild(name: string, parent: string): Promise<string> {
  const image = await openVhdxPath(parent);
  const facts = parentFactsOf(image, { absoluteWin32Path: `\\\\?\\C:\\images\\${parent.split("/").pop() ?? ""}` });
  await image.close();
  return create(name, (file) => writeVhdxChild(file, { parent: facts }));
}

test("siblings, parent and child share the Virtual Disk ID but each has its own file id", async () => {
  const parent = await makeBase("parent.vhdx");
  const [a, b] = [await makeChild("a.vhdx", parent), await makeChild("b.vhdx", parent)];
  const [p, ia, ib] = [await identities(parent), await identities(a), await identities(b)];
  expect(new Set([p.virtualDiskId, ia.virtualDiskId, ib.virtualDiskId]).size).toBe(1);
  expect(new Set([p.fileId, ia.fileId, ib.fileId]).size).toBe(3);
  expect(p.fileId).not.toBe(p.virtualDiskId);
});

test("our writes into a child renew its DataWriteGuid and keep its file id", async () => {
  const parent = await makeBase("parent2.vhdx");
  const child = await makeChild("child2.vhdx", parent);
  const before = await identities(child);
  await writeInto(child, 4096 + 7, randomBytes(3 * MIB), parent);
  const after = await identities(child);
  expect(after.uniqueId).not.toBe(before.uniqueId);
  expect(after.fileId).toBe(before.fileId);
});

test("qemu-io writes into a dynamic base renew its DataWriteGuid and keep its file id", async (ctx) => {
  if (!HAVE.qemuIo) ctx.skip("qemu-io (qemu-utils) is not installed here");
  const base = await makeBase("qemu-written.vhdx");
  const before = await identities(base);
  await run("qemu-io", ["-f", "vhdx", "-c", "write -P 0x5a 1M 3M", base]);
  const after = await identities(base);
  expect(after.uniqueId).not.toBe(before.uniqueId);
  expect(after.fileId).toBe(before.fileId);
});

test("a VHDX made elsewhere (no file id item) is known by its Virtual Disk ID", async (ctx) => {
  if (!HAVE.qemuImg) ctx.skip("qemu-img (qemu-utils) is not installed here");
  const path = join(temp.path(), "qemu-made.vhdx");
  await run("qemu-img", ["create", "-f", "vhdx", path, "16M"]);
  const found = await identities(path);
  expect(found.fileId).toBe(found.virtualDiskId);
});
