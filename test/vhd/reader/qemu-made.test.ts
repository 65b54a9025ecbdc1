import { randomBytes } from "node:crypto";
import { open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { isVhdError } from "../../../provider/errors";
import { openChain } from "../../../provider/disk/chain";
import { VhdImage, openDiskImage } from "../../../provider/vhd/reader/reader";
import { FOOTER_SIZE, MAX_VIRTUAL_SIZE, UNUSED_BAT_ENTRY, blockDataOffset, decodeFooter, encodeFooter } from "../../../provider/vhd/format";
import { inspectDisk } from "../../../provider/disk/inspect";
import { verifyDisk } from "../../../provider/vhd/verify";
import { qemuImgCreate, qemuImgInfo, qemuImgMap } from "../../support/oracles";
import { useTempDir } from "./temp-dir";

const run = promisify(execFile);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const temp = useTempDir("qemu");

/** A raw image with data in some places and holes elsewhere, converted by qemu-img to a VHD of `subformat`. */
async function qemuVhdFromRaw(name: string, subformat: "dynamic" | "fixed"): Promise<{ raw: Buffer; vhd: string }> {
  const raw = Buffer.alloc(20 * MiB);
  for (const offset of [0, 3 * MiB + 4096, 9 * MiB - 512, 19 * MiB]) randomBytes(300_000).copy(raw, offset);
  const rawPath = join(temp.path(), `${name}.raw`);
  const vhd = join(temp.path(), `${name}.vhd`);
  await writeFile(rawPath, raw);
  await run("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", `subformat=${subformat}`, rawPath, vhd]);
  return { raw, vhd };
}

describe("disks made by qemu-img", () => {
  test("a dynamic VHD converted from raw reads back as the raw image; our BAT agrees with qemu-img map", async () => {
    const { raw, vhd } = await qemuVhdFromRaw("dyn", "dynamic");
    const chain = await openChain(vhd);
    try {
      // qemu rounds the size up to a whole CHS geometry; beyond the raw image the disk reads as zeros.
      const ours = Buffer.from(await chain.read(0, chain.virtualSize));
      expect(ours.subarray(0, raw.length).equals(raw)).toBe(true);
      expect(ours.subarray(raw.length).every((byte) => byte === 0)).toBe(true);
      expect(chain.virtualSize).toBe((await qemuImgInfo(vhd))["virtual-size"]);
      const image = chain.leaf;
      if (!(image instanceof VhdImage)) throw new Error(`${vhd} opened as ${image.format}, not as a VHD`);
      const blockSize = image.blockSize ?? 0;
      const ourOffsets = new Map<number, number>();
      image.bat?.forEach((entry, index) => {
        if (entry !== UNUSED_BAT_ENTRY) ourOffsets.set(index * blockSize, blockDataOffset(entry, blockSize));
      });
      for (const extent of (await qemuImgMap(vhd)).filter((candidate) => candidate.data)) {
        const blockStart = Math.floor(extent.start / blockSize) * blockSize;
        expect(extent.offset).toBe((ourOffsets.get(blockStart) ?? -1) + (extent.start - blockStart));
      }
    } finally {
      await chain.close();
    }
    expect((await verifyDisk(vhd)).ok).toBe(true);
  });

  test("a fixed VHD reads back as the raw image", async () => {
    const { raw, vhd } = await qemuVhdFromRaw("fixed", "fixed");
    const info = await inspectDisk(vhd);
    expect(info.type).toBe("fixed");
    expect(info.blockSize).toBeNull();
    const chain = await openChain(vhd);
    expect(Buffer.from(await chain.read(0, raw.length)).equals(raw)).toBe(true);
    await chain.close();
    expect((await verifyDisk(vhd)).ok).toBe(true);
  });

  test("a fixed disk ending in a 511-byte footer (pre-Virtual PC 2004) still opens", async () => {
    const { raw, vhd } = await qemuVhdFromRaw("short", "fixed");
    const bytes = await readFile(vhd);
    const short = join(temp.path(), "short-footer.vhd");
    await writeFile(short, bytes.subarray(0, bytes.length - 1));
    const image = await openDiskImage(short);
    expect(image.footerSource).toBe("short-tail");
    await image.close();
    const chain = await openChain(short);
    expect(Buffer.from(await chain.read(0, raw.length)).equals(raw)).toBe(true);
    await chain.close();
  });
});

describe("size limits", () => {
  test("a 2040 GiB sparse dynamic disk opens, and its last sector reads as zeros", async () => {
    const path = join(temp.path(), "max.vhd");
    await qemuImgCreate(path, "2040G");
    const info = await inspectDisk(path);
    expect(info.virtualSize).toBe(MAX_VIRTUAL_SIZE);
    expect(info.geometry).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
    const chain = await openChain(path);
    const tail = await chain.read(MAX_VIRTUAL_SIZE - 4096, 4096);
    expect(tail.every((byte) => byte === 0)).toBe(true);
    await chain.close();
  });

  test("the same disk claiming 2041 GiB is refused with VM_E_IMAGE_SIZE_TOO_LARGE", async () => {
    const bigger = join(temp.path(), "too-large.vhd");
    await qemuImgCreate(bigger, "2040G");
    const handle = await open(bigger, "r+");
    try {
      const { size } = await handle.stat();
      const footerBytes = Buffer.alloc(FOOTER_SIZE);
      await handle.read(footerBytes, 0, FOOTER_SIZE, size - FOOTER_SIZE);
      const { footer } = decodeFooter(footerBytes);
      const encoded = encodeFooter({ ...footer, currentSize: 2041 * GiB, originalSize: 2041 * GiB });
      await handle.write(encoded, 0, FOOTER_SIZE, 0);
      await handle.write(encoded, 0, FOOTER_SIZE, size - FOOTER_SIZE);
    } finally {
      await handle.close();
    }
    const error = await openDiskImage(bigger).catch((caught: unknown) => caught);
    expect(isVhdError(error, "VM_E_IMAGE_SIZE_TOO_LARGE")).toBe(true);
    expect(isVhdError(error) && error.hresultHex).toBe("0xA0040683");
  });
});
