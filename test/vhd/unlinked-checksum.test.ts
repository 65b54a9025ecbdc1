/**
 * The unlinked checksum a child records for a differencing parent: a relink of that parent (its golden image moved,
 * same bytes) leaves it as it was while the plain SHA-256 changes; a data write into the parent changes it.
 */
import { mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256File } from "../../provider/checksum/sha256";
import { setParent } from "../../provider/ops/set-parent";
import { writeAt } from "../../provider/vhd/writer/block-writer";
import { openDiskImage } from "../../provider/vhd/reader/reader";
import { UNLINKED_CHECKSUM_PREFIX, parentLinkRanges, unlinkedSha256 } from "../../provider/vhd/unlinked-checksum";
import { MIB, createBase, createChild, fileSha256, tempFolder } from "./writer/disks";

let folder: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ folder, cleanup } = await tempFolder("unlinked-checksum"));
});
afterAll(async () => {
  await cleanup();
});

describe("unlinkedSha256", () => {
  it("stays through a relink of the disk, changes with a data write into it", async () => {
    const golden = join(folder, "golden.vhd");
    const middle = join(folder, "vms", "middle.vhd");
    await createBase(golden, { size: 8 * MIB, type: "dynamic" });
    await writeAt(golden, 0, Buffer.alloc(64 * 1024, 0x5a));
    await mkdir(join(folder, "vms"));
    await createChild(middle, golden);
    await writeAt(middle, MIB, Buffer.alloc(64 * 1024, 0x4d));
    const before = await unlinkedSha256(middle);
    const plainBefore = await fileSha256(middle);
    expect(before.checksum).toMatch(new RegExp(`^${UNLINKED_CHECKSUM_PREFIX}[0-9a-f]{64}$`));
    expect(before.checksum).not.toContain(plainBefore);

    const moved = join(folder, "images", "golden-2026-with-a-longer-name.vhd");
    await mkdir(join(folder, "images"));
    await rename(golden, moved);
    await setParent({ imagePath: middle, parentPath: moved });
    expect(await fileSha256(middle)).not.toBe(plainBefore);
    expect((await unlinkedSha256(middle)).checksum).toBe(before.checksum);

    await writeAt(middle, 3 * MIB, Buffer.alloc(512, 0x01));
    expect((await unlinkedSha256(middle)).checksum).not.toBe(before.checksum);
  });

  it("masks the header's link fields and the locator areas in use, nothing of a base disk", async () => {
    const base = join(folder, "base.vhd");
    const child = join(folder, "child.vhd");
    await createBase(base, { size: 4 * MIB, type: "dynamic" });
    await createChild(child, base);
    const ranges = async (path: string) => {
      const image = await openDiskImage(path);
      try {
        return { ranges: parentLinkRanges(image), header: image.footer.dataOffset as number, locators: image.locators };
      } finally {
        await image.close();
      }
    };
    expect((await ranges(base)).ranges).toEqual([]);
    const { ranges: masked, header, locators } = await ranges(child);
    // checksum (36, 4), parent time stamp (56, 4), parent unicode name (64, 512), locator entries (576, 192).
    expect(masked.slice(0, 4)).toEqual([
      { offset: header + 36, length: 4 },
      { offset: header + 56, length: 4 },
      { offset: header + 64, length: 512 },
      { offset: header + 576, length: 192 },
    ]);
    expect(masked.slice(4).map((range) => range.offset)).toEqual(locators.map(({ entry }) => entry.platformDataOffset));
    expect(locators.length).toBeGreaterThan(0);
    // The parent unique id (header + 40) is not masked: it decides which parent the disk reads through.
    expect(masked.some(({ offset, length }) => offset <= header + 40 && header + 40 < offset + length)).toBe(false);
    const plain = (await sha256File(child)).sha256;
    expect((await unlinkedSha256(child)).checksum).not.toBe(`${UNLINKED_CHECKSUM_PREFIX}${plain}`);
  });
});
