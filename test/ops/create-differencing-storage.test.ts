/**
 * createDifferencingDisk through the storage port: how often it touches the parent (at most two opens: validation's
 * chain and the re-check right before writing; the writer and the result read nothing of it), and the faults a real
 * disk rarely gives on demand (ENOSPC or EIO at write N, a short write, a parent replaced between two calls), each
 * leaving nothing behind. Real fixtures throughout; the in-memory adapter only supplies the faults.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkParent, recheckParent } from "../../provider/inputs/validate";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { localStorage } from "../../provider/storage/local/local-storage";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";
import type { OpenOptions, Storage } from "../../provider/storage/port";
import { inspectDisk } from "../../provider/disk/inspect";
import { makeTemp, qemuDynamicDisk, removeTemp } from "../inputs/fixtures";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../support/fixtures";

let temp: string;
beforeEach(async () => {
  temp = await makeTemp("create-storage");
});
afterEach(() => removeTemp(temp));

/** This machine's storage, counting the opens and reads of each path. */
function countingLocalStorage(): { storage: Storage; opens: Map<string, number>; reads: Map<string, number> } {
  const opens = new Map<string, number>();
  const reads = new Map<string, number>();
  const bump = (counts: Map<string, number>, key: string): void => {
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  const storage: Storage = {
    ...localStorage,
    async open(target: string, options?: OpenOptions) {
      bump(opens, target);
      const file = await localStorage.open(target, options);
      const read = file.read.bind(file);
      return Object.assign(file, {
        read: (...args: Parameters<typeof read>) => {
          bump(reads, target);
          return read(...args);
        },
      });
    },
  };
  return { storage, opens, reads };
}

/** A memory storage holding dfvfs `image.vhd` (stale checksums: the footer is not "sound") at /golden/parent.vhd. */
async function memoryWithParent(): Promise<{ storage: MemoryStorage; parentBytes: Uint8Array }> {
  const parentBytes = new Uint8Array(await fsp.readFile(path.join(DFVFS_FIXTURES, "image.vhd")));
  return { storage: new MemoryStorage().addFile("/golden/parent.vhd", parentBytes), parentBytes };
}

/** Byte equality (vitest's deep equality walks a multi-megabyte array element by element). */
function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a).equals(Buffer.from(b));
}

describe("createDifferencingDisk reads the parent once, and checks it once more", () => {
  it("on local files: two opens of the parent, and a result equal to what inspectDisk reads", async () => {
    const parentPath = qemuDynamicDisk(path.join(temp, "parent.vhd"), "64M");
    const imagePath = path.join(temp, "vm", "child.vhd");
    const { storage, opens, reads } = countingLocalStorage();
    const info = await createDifferencingDisk({ imagePath, parentPath, storage });
    expect(opens.get(parentPath)).toBe(2);
    // Validation reads footer, header, BAT and locators; the re-check reads the format's signature (the driver's probe:
    // one read of the tail cookie) and the footer: nothing else reads it. Counted apart, so a writer or a result that
    // read the parent again would show up here.
    const validation = countingLocalStorage();
    const checked = await checkParent(parentPath, validation.storage);
    const recheck = countingLocalStorage();
    await recheckParent(parentPath, checked, recheck.storage);
    expect(recheck.reads.get(parentPath)).toBe(2);
    expect(reads.get(parentPath)).toBe((validation.reads.get(parentPath) ?? 0) + 2);
    const { createdFolders, ...described } = info;
    expect(createdFolders).toEqual([path.join(temp, "vm")]);
    expect(described).toEqual(await inspectDisk(imagePath));
  });

  it("on the in-memory adapter, with a parent whose footer checksum is stale: still two opens", async (ctx) => {
    skipWithoutFixtures(ctx, DFVFS_FIXTURES);
    const { storage, parentBytes } = await memoryWithParent();
    const info = await createDifferencingDisk({ imagePath: "/vm/child.vhd", parentPath: "/golden/parent.vhd", storage });
    expect(storage.counts("/golden/parent.vhd").opens).toBe(2);
    expect(info.parent?.resolvedPath).toBe("/golden/parent.vhd");
    expect(info.chain.map((entry) => entry.path)).toEqual(["/golden/parent.vhd"]);
    expect(sameBytes(storage.fileBytes("/golden/parent.vhd"), parentBytes)).toBe(true);
    expect(storage.paths()).toEqual(["/", "/golden", "/golden/parent.vhd", "/vm", "/vm/child.vhd"]);
  });
});

describe("createDifferencingDisk leaves nothing behind when the storage fails", () => {
  beforeEach((ctx) => skipWithoutFixtures(ctx, DFVFS_FIXTURES));

  for (const [name, fault, code] of [
    ["ENOSPC at the first write", { errno: "ENOSPC" }, "ERROR_DISK_FULL"],
    ["a short write then ENOSPC", { errno: "ENOSPC", tornBytes: 100 }, "ERROR_DISK_FULL"],
    ["EIO at the first write", { errno: "EIO" }, "DISP_E_EXCEPTION"],
  ] as const) {
    it(`${name}: ${code}, no child, no temporary file, no folder, the parent unchanged`, async () => {
      const { storage, parentBytes } = await memoryWithParent();
      storage.failWrite(1, fault);
      await expect(
        createDifferencingDisk({ imagePath: "/vm/child.vhd", parentPath: "/golden/parent.vhd", storage }),
      ).rejects.toMatchObject({ code, path: "/vm/child.vhd" });
      expect(storage.paths()).toEqual(["/", "/golden", "/golden/parent.vhd"]);
      expect(sameBytes(storage.fileBytes("/golden/parent.vhd"), parentBytes)).toBe(true);
    });
  }

  it("ENOSPC at the last write (the tail footer) is refused the same way", async () => {
    const twin = (await memoryWithParent()).storage;
    await createDifferencingDisk({ imagePath: "/vm/child.vhd", parentPath: "/golden/parent.vhd", storage: twin });
    expect(twin.writes).toBeGreaterThan(2);
    const { storage } = await memoryWithParent();
    storage.addFolder("/vm");
    storage.failWrite(twin.writes, { errno: "ENOSPC" });
    await expect(
      createDifferencingDisk({ imagePath: "/vm/child.vhd", parentPath: "/golden/parent.vhd", storage }),
    ).rejects.toMatchObject({ code: "ERROR_DISK_FULL" });
    expect(storage.paths()).toEqual(["/", "/golden", "/golden/parent.vhd", "/vm"]);
  });

  it("a parent replaced by a raw file between validation and writing is refused with the validation's error", async () => {
    const { storage } = await memoryWithParent();
    let opensSeen = 0;
    storage.beforeCall((operation, target) => {
      // The second open of the parent is the re-check: replace the parent just before it.
      if (operation === "open" && target === "/golden/parent.vhd" && ++opensSeen === 2) {
        storage.addFile("/golden/parent.vhd", new Uint8Array(64 * 1024).fill(7));
      }
    });
    await expect(
      createDifferencingDisk({ imagePath: "/vm/child.vhd", parentPath: "/golden/parent.vhd", storage }),
    ).rejects.toMatchObject({ code: "ERROR_VHD_FORMAT_UNKNOWN", parameter: "parentPath" });
    expect(storage.paths()).toEqual(["/", "/golden", "/golden/parent.vhd"]);
  });
});
