/**
 * Every disk operation honours the `storage` it is given: a whole life cycle (base, two differencing disks, write,
 * read through the chain, inspect, verify, set-parent, merge, delete) run on a MemoryStorage whose paths name a real,
 * empty temporary folder. An op that fell back to this machine's storage would either fail (the files are not there)
 * or leave a file in that folder; the test checks both, and checks the bytes the memory adapter holds with qemu-img.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openChain } from "../../provider/disk/chain";
import { createBaseDisk } from "../../provider/ops/create-base";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { deleteDisk } from "../../provider/ops/delete-disk";
import { mergeDisk } from "../../provider/ops/merge-disk";
import { setParent } from "../../provider/ops/set-parent";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";
import { inspectDisk } from "../../provider/disk/inspect";
import { verifyDisk } from "../../provider/vhd/verify";
import { writeAt } from "../../provider/vhd/writer/block-writer";
import { makeTemp, removeTemp } from "../inputs/fixtures";
import { qemuImgConvertToRaw } from "../support/oracles";

let temp: string;
beforeEach(async () => {
  temp = await makeTemp("memory-only");
});
afterEach(() => removeTemp(temp));

const MiB = 2 ** 20;

it("creates, writes, reads, inspects, verifies, relinks, merges and deletes without touching the real disk", async () => {
  const storage = new MemoryStorage().addFolder(temp);
  const base = path.join(temp, "golden", "base.vhd");
  const child = path.join(temp, "vms", "child.vhd");
  const grandchild = path.join(temp, "vms", "grandchild.vhd");
  const pathRules = "posix" as const;

  await createBaseDisk({ path: base, size: 8 * MiB, type: "dynamic", storage, pathRules });
  await writeAt(base, 0, new Uint8Array(4096).fill(0x11), { storage });
  const created = await createDifferencingDisk({ imagePath: child, parentPath: base, storage, pathRules });
  expect(created.parent?.resolvedPath).toBe(base);
  await writeAt(child, 4096, new Uint8Array(512).fill(0x22), { storage });
  await createDifferencingDisk({ imagePath: grandchild, parentPath: child, storage, pathRules });
  await writeAt(grandchild, 2 * MiB + 7, new Uint8Array(3).fill(0x33), { storage });

  const chain = await openChain(grandchild, { storage });
  try {
    const head = await chain.read(0, 4608);
    expect(head.subarray(0, 4096).every((byte) => byte === 0x11)).toBe(true);
    expect(head.subarray(4096).every((byte) => byte === 0x22)).toBe(true);
    expect([...(await chain.read(2 * MiB + 6, 5))]).toEqual([0, 0x33, 0x33, 0x33, 0]);
  } finally {
    await chain.close();
  }
  expect((await inspectDisk(grandchild, { storage })).chain.map((link) => link.path)).toEqual([child, base]);
  const report = await verifyDisk(grandchild, { storage });
  expect(report.checks.filter((check) => !check.ok)).toEqual([]);

  await setParent({ imagePath: grandchild, parentPath: child, storage, pathRules });
  const merged = await mergeDisk({ imagePath: grandchild, storage });
  expect(merged.merged).toEqual([grandchild]);
  const { uniqueId } = await inspectDisk(child, { storage });
  expect(await deleteDisk({ imagePath: child, expectedUniqueId: uniqueId, storage })).toEqual({ deleted: true });

  // The real folder the memory paths name is still empty: nothing fell through to this machine's storage.
  expect(await fsp.readdir(temp)).toEqual([]);
  expect(storage.paths().filter((each) => each.endsWith(".vhd"))).toEqual([base]);

  // The base's bytes, as the memory adapter holds them, read by qemu-img as we wrote them.
  const bytes = storage.fileBytes(base);
  if (bytes === undefined) throw new Error("the base disk is gone from memory");
  const onDisk = path.join(temp, "base-copy.vhd");
  await fsp.writeFile(onDisk, bytes);
  const raw = path.join(temp, "base.raw");
  await qemuImgConvertToRaw(onDisk, raw);
  const data = await fsp.readFile(raw);
  expect(data.subarray(0, 4096).every((byte) => byte === 0x11)).toBe(true);
  expect(data.subarray(4096).every((byte) => byte === 0)).toBe(true);
});
