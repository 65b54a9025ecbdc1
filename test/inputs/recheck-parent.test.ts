/**
 * recheckParent, the check ops run right before writing: one footer read when the parent is unchanged since
 * checkParent, and otherwise exactly what checkParent finds (real files: a qemu-made disk, the dfvfs samples).
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkParent, recheckParent } from "../../provider/inputs/validate";
import { formatUniqueId } from "../../provider/vhd/format";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../support/fixtures";
import { copyFixture, makeTemp, qemuDynamicDisk, removeTemp } from "./fixtures";

let temp: string;

beforeEach(async () => {
  temp = await makeTemp("recheck-parent");
});

afterEach(async () => {
  await removeTemp(temp);
});

describe("recheckParent", () => {
  it("returns what validation found when the parent is unchanged (sound footer, and the dfvfs sample's stale one)", async (ctx) => {
    skipWithoutFixtures(ctx, DFVFS_FIXTURES);
    for (const parentPath of [qemuDynamicDisk(path.join(temp, "qemu.vhd"), "64M"), await copyFixture("image.vhd", temp)]) {
      const validated = await checkParent(parentPath);
      expect((await recheckParent(parentPath, validated)).info).toBe(validated);
    }
  });

  it("describes the new parent, as checkParent does, when another disk took its place", async () => {
    const parentPath = qemuDynamicDisk(path.join(temp, "parent.vhd"), "64M");
    const validated = await checkParent(parentPath);
    await fsp.rm(parentPath);
    qemuDynamicDisk(parentPath, "64M");
    const rechecked = await recheckParent(parentPath, validated);
    expect(rechecked.info.uniqueId).not.toBe(validated.uniqueId);
    expect(rechecked.info).toEqual(await checkParent(parentPath));
    expect(rechecked.facts.uniqueId).toBe(rechecked.info.uniqueId);
  });

  it("refuses a parent that became a raw file with checkParent's error, and a removed one with ERROR_PATH_NOT_FOUND", async () => {
    const parentPath = qemuDynamicDisk(path.join(temp, "parent.vhd"), "64M");
    const validated = await checkParent(parentPath);
    await fsp.writeFile(parentPath, Buffer.alloc(1024 * 1024));
    await expect(checkParent(parentPath)).rejects.toMatchObject({ code: "ERROR_VHD_FORMAT_UNKNOWN", parameter: "parentPath" });
    await expect(recheckParent(parentPath, validated)).rejects.toMatchObject({
      code: "ERROR_VHD_FORMAT_UNKNOWN",
      parameter: "parentPath",
      path: parentPath,
    });
    await fsp.rm(parentPath);
    await expect(recheckParent(parentPath, validated)).rejects.toMatchObject({ code: "ERROR_PATH_NOT_FOUND", parameter: "parentPath" });
  });
});
