/**
 * setParent on disks made by others (the dfvfs samples): a Windows-made child with Hyper-V's 4 KiB / 64 KiB locator
 * areas is relinked in place, changing nothing but its header and locator data; a disk with a stale checksum is
 * refused untouched, as the writer refuses it.
 */
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { setParent } from "../../provider/ops/set-parent";
import { openChain } from "../../provider/disk/chain";
import { openDiskImage } from "../../provider/vhd/reader/reader";
import { locatorDataSpaceBytes } from "../../provider/vhd/format";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../support/fixtures";
import { pyvhdiReadChain, vhdiinfo } from "../support/oracles";
import { MIB, createBase, sha256, tempFolder } from "../vhd/writer/disks";

let folder: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ folder, cleanup } = await tempFolder("set-parent-ops"));
  await mkdir(join(folder, "vm"));
  await mkdir(join(folder, "images"));
});
afterAll(async () => {
  await cleanup();
});

/** The byte ranges a relink may change: the dynamic header and the locator data areas the disk had. */
async function metadataRanges(path: string): Promise<[number, number][]> {
  const image = await openDiskImage(path);
  try {
    const header = image.footer.dataOffset ?? 0;
    return [
      [header, header + 1024],
      ...image.locators.map(({ entry }): [number, number] => [
        entry.platformDataOffset,
        entry.platformDataOffset + (locatorDataSpaceBytes(entry.platformDataSpace) ?? entry.platformDataLength),
      ]),
    ];
  } finally {
    await image.close();
  }
}

describe("setParent on disks made by others", () => {
  beforeEach((ctx) => skipWithoutFixtures(ctx, DFVFS_FIXTURES));

  it("relinks the Windows-made child in place: only its header and locator areas change; ours and libvhdi follow", async () => {
    const child = join(folder, "vm", "fat-differential.vhd");
    const parent = join(folder, "images", "fat-parent.vhd");
    await copyFile(join(DFVFS_FIXTURES, "fat-differential.vhd"), child);
    await createBase(parent, { size: 4 * MIB, type: "dynamic" });
    const before = await readFile(child);
    const ranges = await metadataRanges(child);

    await expect(setParent({ imagePath: child, parentPath: parent })).rejects.toMatchObject({
      code: "ERROR_VHD_CHILD_PARENT_ID_MISMATCH",
    });
    expect((await readFile(child)).equals(before)).toBe(true);

    const result = await setParent({ imagePath: child, parentPath: parent, ignoreIdMismatch: true });
    expect(result).toMatchObject({ idMismatchIgnored: true, previous: { uniqueId: "5fa21a55-f394-aa4d-9958-1951a67d5540" } });
    expect(result.disk.parent).toMatchObject({ resolvedPath: parent, name: "fat-parent.vhd" });
    const after = await readFile(child);
    expect(after.length).toBe(before.length);
    const outside = (bytes: Buffer): Buffer =>
      Buffer.from(bytes.filter((_byte, offset) => !ranges.some(([start, end]) => offset >= start && offset < end)));
    expect(outside(after).equals(outside(before))).toBe(true);

    const chain = await openChain(child, { strict: true });
    const ours = Buffer.from(await chain.read(0, chain.virtualSize));
    await chain.close();
    expect((await pyvhdiReadChain([child, parent], join(folder, "pyvhdi.raw"))).sha256).toBe(sha256(ours));
    expect((await vhdiinfo(child)).parentFilename).toBe("fat-parent.vhd");
  });

  it("refuses a child whose checksums are stale (as the writer does), leaving it as it was", async () => {
    const child = join(folder, "vm", "image-differential.vhd");
    const parent = join(folder, "images", "image.vhd");
    await copyFile(join(DFVFS_FIXTURES, "image-differential.vhd"), child);
    await copyFile(join(DFVFS_FIXTURES, "image.vhd"), parent);
    const before = await readFile(child);
    await expect(setParent({ imagePath: child, parentPath: parent, pathRules: "posix" })).rejects.toMatchObject({
      code: expect.stringMatching(/CHECKSUM_MISMATCH$/),
    });
    expect((await readFile(child)).equals(before)).toBe(true);
  });
});
