/**
 * releaseParent's "last child" rule (a hold from before holds records: no record beside the parent), on real files:
 * the parent gets its mode back only when no other child of it is found beside the disk or the parent, and stays
 * read-only, the release succeeding, when a file there cannot be read to tell. The release runs after the disk's own
 * file is gone (a delete): failing it then would leave a deleted disk in the state, for every retry, over a parent
 * that is kept protected either way.
 */
import { chmodSync, copyFileSync, mkdtempSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inspectDisk } from "../../provider/disk/inspect";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { releaseParent, type ParentHold } from "../../provider/ops/manage-disk";
import { localStorage } from "../../provider/storage/local/local-storage";
import type { Storage } from "../../provider/storage/port";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../support/fixtures";

let temp: string;
let golden: string;

beforeEach((ctx) => {
  skipWithoutFixtures(ctx, DFVFS_FIXTURES);
  temp = mkdtempSync(join(tmpdir(), "release-parent-"));
  golden = join(temp, "golden.vhd");
  copyFileSync(join(DFVFS_FIXTURES, "image.vhd"), golden);
});

afterEach(() => {
  rmSync(temp, { recursive: true, force: true });
});

/** a.vhd's hold on golden.vhd as a disk from before holds records left it: golden made read-only, no record. */
async function legacyHold(): Promise<ParentHold> {
  const imagePath = join(temp, "a.vhd");
  const made = await createDifferencingDisk({ imagePath, parentPath: golden, pathRules: "posix" });
  const parentUniqueId = (await inspectDisk(golden)).uniqueId;
  chmodSync(golden, 0o444);
  return { imagePath, uniqueId: made.uniqueId, parentPath: golden, parentUniqueId, parentModeBeforeProtect: 0o644 };
}

const modeOf = (path: string): number => statSync(path).mode & 0o7777;

/** `storage` cutting `path` to nothing right after it is opened (a `cp` over it while it is read). */
function cutOnOpen(storage: Storage, path: string): Storage {
  return new Proxy(storage, {
    get(target, key) {
      if (key === "open") {
        return async (opened: string, options?: Parameters<Storage["open"]>[1]) => {
          const file = await target.open(opened, options);
          if (opened === path) truncateSync(path, 0);
          return file;
        };
      }
      const value: unknown = Reflect.get(target, key);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe("releaseParent without a holds record (the last-child rule)", () => {
  it("gives the parent its mode back once the disk was the last child, and keeps it read-only while another is there", async () => {
    const disk = await legacyHold();
    const other = await createDifferencingDisk({ imagePath: join(temp, "b.vhd"), parentPath: golden, pathRules: "posix" });
    rmSync(disk.imagePath);
    await releaseParent(disk, [disk.imagePath], localStorage);
    expect(modeOf(golden)).toBe(0o444);
    rmSync(join(temp, "b.vhd"));
    await releaseParent({ ...disk, imagePath: join(temp, "b.vhd"), uniqueId: other.uniqueId }, [join(temp, "b.vhd")], localStorage);
    expect(modeOf(golden)).toBe(0o644);
  });

  it("keeps the parent read-only, and succeeds, when a file beside it cannot be read to tell whether it is a child", async () => {
    const disk = await legacyHold();
    const other = join(temp, "b.vhd");
    await createDifferencingDisk({ imagePath: other, parentPath: golden, pathRules: "posix" });
    rmSync(disk.imagePath);
    await expect(releaseParent(disk, [disk.imagePath], cutOnOpen(localStorage, other))).resolves.toBeUndefined();
    expect(modeOf(golden)).toBe(0o444);
  });
});
