/**
 * deleteDisk, the guarded delete any face can call, on real disks in a temp folder: it removes exactly the one file
 * and says so, treats "already gone" as success, and refuses (leaving everything in place) a file with another unique
 * id or a disk that other disks in its folder still use as parent.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isVhdError } from "../../provider/errors";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { deleteDisk } from "../../provider/ops/delete-disk";
import { copyFixture, makeTemp, removeTemp, snapshotFile } from "../inputs/fixtures";

let temp: string;
let parentPath: string;

beforeEach(async () => {
  temp = await makeTemp("ops-delete");
  parentPath = await copyFixture("image.vhd", temp, "golden.vhd");
});

afterEach(async () => {
  await removeTemp(temp);
});

/** A differencing disk off `parent` at `name` in the temp folder. */
async function child(name: string, parent = parentPath): Promise<{ imagePath: string; uniqueId: string }> {
  const imagePath = path.join(temp, name);
  const info = await createDifferencingDisk({ imagePath, parentPath: parent, pathRules: "posix" });
  return { imagePath, uniqueId: info.uniqueId };
}

describe("deleteDisk", () => {
  it("removes exactly the one file, leaves the parent unchanged, and reports an already deleted disk as not deleted", async () => {
    const disk = await child("web.vhd");
    const parentBefore = await snapshotFile(parentPath);
    await expect(deleteDisk({ imagePath: disk.imagePath, expectedUniqueId: disk.uniqueId })).resolves.toEqual({ deleted: true });
    expect((await fsp.readdir(temp)).sort()).toEqual(["golden.vhd"]);
    expect(await snapshotFile(parentPath)).toEqual(parentBefore);
    await expect(deleteDisk({ imagePath: disk.imagePath, expectedUniqueId: disk.uniqueId })).resolves.toEqual({ deleted: false });
  });

  it("refuses a file with another unique id, naming both ids, and leaves it", async () => {
    const disk = await child("web.vhd");
    await fsp.rm(disk.imagePath);
    const replacement = await child("web.vhd");
    const error = await deleteDisk({ imagePath: disk.imagePath, expectedUniqueId: disk.uniqueId }).catch((e: unknown) => e);
    expect(isVhdError(error) && error.code).toBe("ERROR_ACCESS_DENIED");
    expect(isVhdError(error) && error.details).toEqual({ found: replacement.uniqueId, expected: disk.uniqueId });
    expect(isVhdError(error) && error.message).toMatch(/ERROR_ACCESS_DENIED \(0x80070005\): imagePath ".*web\.vhd": the file is not the disk/);
    expect((await snapshotFile(disk.imagePath)).size).toBeGreaterThan(0);
  });

  it("refuses, listing them sorted, while other disks in its folder use it as parent", async () => {
    const web = await child("web.vhd");
    const b = await child("child-b.vhd", web.imagePath);
    const a = await child("child-a.vhd", web.imagePath);
    const error = await deleteDisk({ imagePath: web.imagePath, expectedUniqueId: web.uniqueId }).catch((e: unknown) => e);
    expect(isVhdError(error) && error.code).toBe("ERROR_SHARING_VIOLATION");
    expect(isVhdError(error) && error.details).toEqual({ children: [a.imagePath, b.imagePath] });
    expect((await fsp.readdir(temp)).sort()).toEqual(["child-a.vhd", "child-b.vhd", "golden.vhd", "web.vhd"]);
  });
});
