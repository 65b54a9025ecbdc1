/**
 * deleteDisk, the guarded delete any face can call, on real disks in a temp folder: it removes exactly the one file
 * and says so, treats "already gone" as success, and refuses (leaving everything in place) a file with another unique
 * id, a file that is not a VHD, a disk another resource owns, or a disk that other disks in its folder still use as
 * parent. The ownership record's claims are settled here too: of two claims on one disk, one wins.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VhdError, isVhdError } from "../../provider/errors";
import { createBaseDisk } from "../../provider/ops/create-base";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { deleteDisk } from "../../provider/ops/delete-disk";
import { claimDisk, ownershipRecordPath } from "../../provider/ops/ownership";
import { copyFixture, makeTemp, removeTemp, snapshotFile } from "../inputs/fixtures";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../support/fixtures";

let temp: string;
let parentPath: string;

beforeEach(async (ctx) => {
  skipWithoutFixtures(ctx, DFVFS_FIXTURES);
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

  it("refuses a file that is not a VHD (random bytes, a folder) as foreign, and leaves it", async () => {
    const disk = await child("web.vhd");
    const garbage = Buffer.alloc(70_000, 0x5c);
    await fsp.writeFile(disk.imagePath, garbage);
    const error = await deleteDisk({ imagePath: disk.imagePath, expectedUniqueId: disk.uniqueId }).catch((e: unknown) => e);
    expect(isVhdError(error) && error.message).toMatch(/ERROR_ACCESS_DENIED \(0x80070005\): imagePath ".*web\.vhd": the file is not the disk this resource created \(it is not a virtual disk: /);
    expect(await fsp.readFile(disk.imagePath)).toEqual(garbage);
    await fsp.rm(disk.imagePath);
    await fsp.mkdir(disk.imagePath);
    const folder = await deleteDisk({ imagePath: disk.imagePath, expectedUniqueId: disk.uniqueId }).catch((e: unknown) => e);
    expect(isVhdError(folder) && folder.message).toMatch(/it is not a virtual disk: it is a folder/);
  });

  it("one owner: of two simultaneous claims one wins; delete leaves a disk another owner holds, then removes record and folders", async () => {
    const folder = path.join(temp, "vms");
    const imagePath = path.join(folder, "web.vhd");
    const made = await createDifferencingDisk({ imagePath, parentPath, pathRules: "posix" });
    const claims = await Promise.all(["urn:one", "urn:two"].map((owner) => claimDisk(imagePath, { owner, uniqueId: made.uniqueId })));
    expect(claims.filter((holder) => holder === null)).toHaveLength(1);
    const winner = claims[0] === null ? "urn:one" : "urn:two";
    const loser = winner === "urn:one" ? "urn:two" : "urn:one";
    expect(claims).toContain(winner);
    const refused = await deleteDisk({ imagePath, expectedUniqueId: made.uniqueId, owner: loser }).catch((e: unknown) => e);
    expect(isVhdError(refused) && refused.code).toBe("ERROR_SHARING_VIOLATION");
    expect(isVhdError(refused) && refused.message).toContain(`managed by another resource, ${winner}`);
    await expect(
      deleteDisk({ imagePath, expectedUniqueId: made.uniqueId, owner: winner, createdFolders: made.createdFolders }),
    ).resolves.toEqual({ deleted: true });
    expect(made.createdFolders).toEqual([folder]);
    await expect(fsp.stat(ownershipRecordPath(imagePath))).rejects.toThrow();
    expect((await fsp.readdir(temp)).sort()).toEqual(["golden.vhd"]);
  });

  it("a record left over from another disk claims nothing", async () => {
    const old = await child("web.vhd");
    await claimDisk(old.imagePath, { owner: "urn:old", uniqueId: old.uniqueId });
    await fsp.rm(old.imagePath);
    const fresh = await child("web.vhd");
    await expect(claimDisk(fresh.imagePath, { owner: "urn:new", uniqueId: fresh.uniqueId })).resolves.toBeNull();
    await expect(deleteDisk({ imagePath: fresh.imagePath, expectedUniqueId: fresh.uniqueId, owner: "urn:new" })).resolves.toEqual({ deleted: true });
  });
});

describe("deleteDisk when the storage stops answering during its look for children", () => {
  it("refuses with the storage's error and deletes nothing: an unanswered sibling may be a child", async () => {
    const storage = new MemoryStorage().addFolder(temp);
    const golden = path.join(temp, "golden.vhd");
    await createBaseDisk({ path: golden, size: 8 * 2 ** 20, type: "dynamic", storage });
    const [a, b] = [path.join(temp, "a.vhd"), path.join(temp, "b.vhd")];
    const disk = await createDifferencingDisk({ imagePath: a, parentPath: golden, storage });
    await createDifferencingDisk({ imagePath: b, parentPath: a, storage });
    // What the SSH adapter raises for a request on a connection that dropped, here for the open of the child.
    storage.beforeCall((operation, target) => {
      if (operation === "open" && target === b) throw new VhdError("ERROR_NETNAME_DELETED", "the connection to the host was lost", { path: b });
    });
    const error = await deleteDisk({ imagePath: a, expectedUniqueId: disk.uniqueId, storage }).catch((e: unknown) => e);
    expect(isVhdError(error) && error.code).toBe("ERROR_NETNAME_DELETED");
    // The host's error as it came: nothing is wrong with the file, so "make it readable, or move it out" would mislead.
    expect(String(error)).toContain("the connection to the host was lost");
    expect(String(error)).not.toContain("make it readable");
    expect(storage.fileBytes(a)).toBeDefined();
  });
});
