/**
 * The VHD driver of the disk seam: what it claims by probing, how the registry falls back to it for a file no driver
 * claims (so the error is the VHD reader's precise one), and that the sizes it gives validation are the sizes the
 * writer then writes.
 */
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openDisk } from "../../provider/disk/formats";
import { isVhdError } from "../../provider/errors";
import { vhdDriver } from "../../provider/vhd/driver";
import { localStorage } from "../../provider/storage/local/local-storage";
import { readParentFacts } from "../../provider/vhd/writer/parent-footer";
import { MIB, createBase, createChild, tempFolder } from "./writer/disks";

let folder = "";
let cleanup: () => Promise<void> = async () => undefined;
beforeAll(async () => {
  ({ folder, cleanup } = await tempFolder("driver"));
});
afterAll(() => cleanup());

async function probe(path: string): Promise<boolean> {
  const file = await localStorage.open(path);
  try {
    return await vhdDriver.probe(file);
  } finally {
    await file.close();
  }
}

async function openError(path: string): Promise<string> {
  return openDisk(path).then(
    async (image) => {
      await image.close();
      return "opened";
    },
    (error: unknown) => (isVhdError(error) ? `${error.code}: ${error.reason}` : String(error)),
  );
}

describe("vhdDriver.probe and the registry's choice", () => {
  test("fixed and dynamic disks, a disk whose tail footer is gone (head copy) and a 511-byte footer are VHDs", async () => {
    const dynamic = join(folder, "dynamic.vhd");
    const fixed = join(folder, "fixed.vhd");
    await createBase(dynamic, { size: 4 * MIB, type: "dynamic" });
    await createBase(fixed, { size: 4 * MIB, type: "fixed" });
    expect(await probe(dynamic)).toBe(true);
    expect(await probe(fixed)).toBe(true);
    const headOnly = join(folder, "head-only.vhd");
    const bytes = await readFile(dynamic);
    bytes.fill(0, bytes.length - 512);
    await writeFile(headOnly, bytes);
    expect(await probe(headOnly)).toBe(true);
    const image = await openDisk(headOnly);
    expect(image.format).toBe("vhd");
    expect(image.warnings.map((warning) => warning.code)).toContain("ERROR_VHD_DRIVE_FOOTER_MISSING");
    await image.close();
    const short = join(folder, "short.vhd");
    await writeFile(short, (await readFile(fixed)).subarray(0, 4 * MIB + 511));
    expect(await probe(short)).toBe(true);
  });

  test("raw bytes, a VHDX and a tiny file are not; the registry gives a VHDX to its driver, the rest the VHD reader's errors", async () => {
    const raw = join(folder, "raw.img");
    await writeFile(raw, Buffer.alloc(64 * 1024, 0x5a));
    const vhdx = join(folder, "disk.vhdx");
    await writeFile(vhdx, Buffer.concat([Buffer.from("vhdxfile", "latin1"), Buffer.alloc(64 * 1024)]));
    const tiny = join(folder, "tiny.vhd");
    await writeFile(tiny, Buffer.alloc(100));
    for (const path of [raw, vhdx, tiny]) expect(await probe(path)).toBe(false);
    expect(await openError(raw)).toMatch(/^ERROR_VHD_FORMAT_UNKNOWN: .*not a VHD/);
    // The VHDX driver claims it by its signature and says what is wrong in its terms: too short for its structures.
    expect(await openError(vhdx)).toMatch(/^ERROR_VHD_INVALID_FILE_SIZE: /);
    expect(await openError(tiny)).toMatch(/^ERROR_VHD_DRIVE_FOOTER_MISSING: /);
  });
});

describe("vhdDriver sizes and creation", () => {
  test("differencingFileSizes is the size of the child the driver writes, for every block size", async () => {
    const parent = join(folder, "sizes-parent.vhd");
    await createBase(parent, { size: 64 * MIB, type: "dynamic" });
    for (const requested of [512 * 1024, MIB, undefined]) {
      const child = join(folder, `sizes-child-${requested ?? "default"}.vhd`);
      const blockSize = vhdDriver.checkBlockSize(requested, child);
      const file = await localStorage.createExclusive(child);
      try {
        const parentFacts = await readParentFacts(localStorage, parent);
        await vhdDriver.createDifferencing(file, parentFacts, { imagePath: child, parentPath: parent, blockSize });
      } finally {
        await file.close();
      }
      const sizes = vhdDriver.differencingFileSizes(64 * MIB, blockSize);
      expect((await stat(child)).size).toBe(sizes.initialFileSize);
      expect(sizes.fullyExpandedSize).toBeGreaterThan(64 * MIB);
    }
    expect(() => vhdDriver.checkBlockSize(4096, join(folder, "x.vhd"))).toThrow(/ERROR_VHD_INVALID_BLOCK_SIZE/);
  });

  test("a child's parent reference names the parent's unique id and finds it first by W2ru", async () => {
    const parent = join(folder, "ref-parent.vhd");
    const child = join(folder, "ref-child.vhd");
    await createBase(parent, { size: 4 * MIB, type: "dynamic" });
    await createChild(child, parent);
    const parentImage = await openDisk(parent);
    const childImage = await openDisk(child);
    try {
      expect(parentImage.parentReference()).toBeNull();
      const reference = childImage.parentReference();
      expect(reference?.uniqueId).toBe(parentImage.uniqueId);
      expect(reference?.candidates[0]).toEqual({ path: parent, source: expect.stringContaining("W2ru") as unknown });
      expect(reference?.recordedModifiedTime?.getTime()).toBe(Math.floor((await stat(parent)).mtimeMs / 1000) * 1000);
    } finally {
      await Promise.all([parentImage.close(), childImage.close()]);
    }
  });
});

