import { randomBytes } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pyvhdiReadChain, qemuImgConvertToRaw, qemuImgInfo, qemuImgMap, vhdiinfo } from "../../support/oracles";
import type { ByteProgress } from "../../../provider/support/progress";
import { openChain } from "../../../provider/disk/chain";
import { DiskType, MAX_VIRTUAL_SIZE, blockDataOffset, chsFromSize } from "../../../provider/vhd/format";
import { createFileAtomically } from "../../../provider/storage/atomic-create";
import { writeAt } from "../../../provider/vhd/writer/block-writer";
import { writeBaseDisk } from "../../../provider/vhd/writer/writer";
import { GIB, MIB, createBase, createChild, readComposed, sha256, tempFolder, withImage } from "./disks";
import { localStorage } from "../../../provider/storage/local/local-storage";

let folder: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ folder, cleanup } = await tempFolder("base"));
});
afterAll(async () => {
  await cleanup();
});

const BLOCK = 2 * MIB;

/** A raw image of 4.5 blocks: data, zeros, half data, zeros, then a short tail that is not a whole sector. */
async function makeRaw(path: string): Promise<Buffer> {
  const raw = Buffer.alloc(4 * BLOCK + 1000);
  randomBytes(BLOCK).copy(raw, 0);
  randomBytes(BLOCK / 2).copy(raw, 2 * BLOCK + BLOCK / 4);
  randomBytes(1000).copy(raw, 4 * BLOCK);
  await writeFile(path, raw);
  return raw;
}

describe("empty base disks", () => {
  it("a dynamic disk is header, BAT and footers only, with the SPEC geometry", async () => {
    const path = join(folder, "empty-dynamic.vhd");
    await createBase(path, { size: 16 * MIB, type: "dynamic" });
    expect((await stat(path)).size).toBe(512 + 1024 + 512 + 512);
    const footer = await withImage(path, (image) => image.footer);
    expect(footer.diskType).toBe(DiskType.Dynamic);
    expect({ cylinders: footer.cylinders, heads: footer.heads, sectorsPerTrack: footer.sectorsPerTrack }).toEqual(chsFromSize(16 * MIB));
    const info = await vhdiinfo(path);
    expect([info.diskType, info.mediaSize]).toEqual(["Dynamic", 16 * MIB]);
    expect((await qemuImgInfo(path))["virtual-size"]).toBe(16 * MIB);
    expect((await qemuImgMap(path)).every((extent) => !extent.data)).toBe(true);
  });

  it("a fixed disk is a sparse data area then the footer", async () => {
    const path = join(folder, "empty-fixed.vhd");
    await createBase(path, { size: 4 * MIB, type: "fixed" });
    const facts = await stat(path);
    expect(facts.size).toBe(4 * MIB + 512);
    expect(facts.blocks * 512).toBeLessThan(MIB);
    const info = await vhdiinfo(path);
    expect([info.diskType, info.mediaSize]).toEqual(["Fixed", 4 * MIB]);
    expect((await qemuImgInfo(path))["virtual-size"]).toBe(4 * MIB);
    expect((await readComposed(path)).equals(Buffer.alloc(4 * MIB))).toBe(true);
  });
});

describe.each(["dynamic", "fixed"] as const)("a %s disk from a raw image", (type) => {
  const size = 5 * BLOCK;
  let rawPath: string;
  let raw: Buffer;
  let path: string;
  let progress: ByteProgress[];

  beforeAll(async () => {
    rawPath = join(folder, `source-${type}.raw`);
    raw = await makeRaw(rawPath);
    path = join(folder, `from-raw-${type}.vhd`);
    progress = [];
    await createBase(path, { size, type, fromRaw: rawPath, onProgress: (step) => progress.push(step) });
  });

  const expected = (): Buffer => Buffer.concat([raw, Buffer.alloc(size - raw.length)]);

  it("reads back as the raw image, zero-padded to the disk size, in our reader, qemu-img and pyvhdi", async () => {
    expect(sha256(await readComposed(path))).toBe(sha256(expected()));
    const qemuRaw = join(folder, `qemu-${type}.raw`);
    await qemuImgConvertToRaw(path, qemuRaw);
    expect(sha256(await readFile(qemuRaw))).toBe(sha256(expected()));
    expect((await pyvhdiReadChain([path], join(folder, `pyvhdi-${type}.raw`))).sha256).toBe(sha256(expected()));
  });

  it("reports progress up to the raw image's size", () => {
    expect(progress.at(-1)).toEqual({ bytesDone: raw.length, bytesTotal: raw.length });
    expect(progress.map((step) => step.bytesDone)).toEqual([...progress.map((step) => step.bytesDone)].sort((a, b) => a - b));
  });

  it("stays sparse: all-zero blocks take no space", async () => {
    if (type === "dynamic") {
      const bat = await withImage(path, (image) => Array.from(image.bat ?? []));
      expect(bat.map((entry) => entry !== 0xffffffff)).toEqual([true, false, true, false, true]);
    } else {
      expect((await stat(path)).blocks * 512).toBeLessThanOrEqual(3 * BLOCK + 64 * 1024);
    }
  });
});

describe("qemu-img map agrees with our BAT", () => {
  it("lists exactly the allocated blocks, at the file offsets the BAT gives", async () => {
    const path = join(folder, "from-raw-dynamic.vhd");
    const bat = await withImage(path, (image) => Array.from(image.bat ?? []));
    const fromBat = bat.flatMap((entry, block) =>
      entry === 0xffffffff ? [] : [{ start: block * BLOCK, length: BLOCK, offset: blockDataOffset(entry, BLOCK) }],
    );
    const fromQemu = (await qemuImgMap(path))
      .filter((extent) => extent.data)
      .map(({ start, length, offset }) => ({ start, length, offset }));
    expect(fromQemu).toEqual(fromBat);
  });
});

describe("size limits", () => {
  it.each(["dynamic", "fixed"] as const)("a %s disk of 2040 GiB works and stays sparse", async (type) => {
    const path = join(folder, `largest-${type}.vhd`);
    await createBase(path, { size: MAX_VIRTUAL_SIZE, type });
    const facts = await stat(path);
    expect(facts.blocks * 512).toBeLessThan(8 * MIB);
    expect(facts.size).toBe(type === "fixed" ? MAX_VIRTUAL_SIZE + 512 : 512 + 1024 + 1_044_480 * 4 + 512);
    expect((await qemuImgInfo(path))["virtual-size"]).toBe(2040 * GIB);
    expect((await vhdiinfo(path)).mediaSize).toBe(2040 * GIB);
    // The last sector of the largest disk is addressable, through a child too.
    const childPath = join(folder, `largest-${type}-child.vhd`);
    await createChild(childPath, path);
    const lastSector = Buffer.alloc(512, 0xee);
    await writeAt(childPath, MAX_VIRTUAL_SIZE - 512, lastSector);
    const chain = await openChain(childPath);
    try {
      expect(Buffer.from(await chain.read(MAX_VIRTUAL_SIZE - 4096, 4096))).toEqual(
        Buffer.concat([Buffer.alloc(3584), lastSector]),
      );
    } finally {
      await chain.close();
    }
  });

  it("refuses 2041 GiB with VM_E_IMAGE_SIZE_TOO_LARGE and leaves nothing behind", async () => {
    const path = join(folder, "too-large.vhd");
    await expect(createBase(path, { size: 2041 * GIB, type: "dynamic" })).rejects.toMatchObject({
      code: "VM_E_IMAGE_SIZE_TOO_LARGE",
      parameter: "size",
      message: expect.stringMatching(/0xA0040683.*2040 GiB/),
    });
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it.each([0, 1000, 4 * MIB + 1, -512, 1.5])("refuses a size of %s bytes (not a positive whole number of sectors)", async (size) => {
    const path = join(folder, "bad-size.vhd");
    await expect(createBase(path, { size, type: "fixed" })).rejects.toMatchObject({
      code: "ERROR_VHD_INVALID_SIZE",
      parameter: "size",
    });
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a raw image larger than the disk", async () => {
    const rawPath = join(folder, "big.raw");
    await writeFile(rawPath, Buffer.alloc(MIB + 1, 1));
    const path = join(folder, "small.vhd");
    await expect(createBase(path, { size: MIB, type: "dynamic", fromRaw: rawPath })).rejects.toMatchObject({
      code: "ERROR_VHD_INVALID_SIZE",
      parameter: "size",
      value: MIB,
      details: { source: rawPath, sourceSize: MIB + 1 },
    });
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("stops a copy from a raw image when cancelled midway, leaving nothing behind", async () => {
    const rawPath = join(folder, "cancel-source.raw");
    await makeRaw(rawPath);
    const path = join(folder, "cancelled-import.vhd");
    const controller = new AbortController();
    const creating = createBase(path, {
      size: 5 * BLOCK,
      type: "dynamic",
      fromRaw: rawPath,
      onProgress: () => controller.abort(),
      signal: controller.signal,
    });
    await expect(creating).rejects.toMatchObject({ code: "VM_E_APP_SHUTTING_DOWN" });
    expect((await readdir(folder)).filter((name) => name.includes("cancelled-import"))).toEqual([]);
  });

  it("names a missing raw image", async () => {
    const rawPath = join(folder, "absent.raw");
    await expect(createBase(join(folder, "x.vhd"), { size: MIB, type: "fixed", fromRaw: rawPath })).rejects.toMatchObject({
      code: "ERROR_PATH_NOT_FOUND",
      parameter: "fromRaw",
      path: rawPath,
    });
  });
});
