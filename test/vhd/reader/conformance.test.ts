/**
 * Issue 8's kinds of fault, each with the right value, on real files: a stored geometry is a fact (1), a 511-byte
 * footer is a footer for every disk type (2), parents are never the chain's own disks and relative parent names
 * resolve (3), blocks we allocate are 4 KiB-aligned (4), a fixed disk's file size fits its layout both ways (5).
 */
import { copyFile, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { isVhdError } from "../../../provider/errors";
import { createBaseDisk } from "../../../provider/ops/create-base";
import { createDifferencingDisk } from "../../../provider/ops/create-differencing";
import { openChain } from "../../../provider/disk/chain";
import { openDiskImage } from "../../../provider/vhd/reader/reader";
import { inspectDisk } from "../../../provider/disk/inspect";
import { QEMU_FOOTER_SIZED_CREATORS, verifyDisk } from "../../../provider/vhd/verify";
import { writeAt } from "../../../provider/vhd/writer/block-writer";
import { FOOTER_SIZE, decodeFooter, encodeFooter } from "../../../provider/vhd/format";
import { CORPUS_FIXTURES, DFVFS_FIXTURES, skipWithoutFixtures } from "../../support/fixtures";
import { pyvhdiReadChain, qemuImgCreate, qemuImgInfo, vhdiinfo } from "../../support/oracles";
import { useTempDir } from "./temp-dir";
import { readComposed } from "../writer/disks";
import { writeVhd } from "./vhd-builder";

const MiB = 1024 * 1024;
const temp = useTempDir("conformance");

/** A fresh folder in the test's temp dir. */
async function folder(name: string): Promise<string> {
  const path = join(temp.path(), name);
  await mkdir(path, { recursive: true });
  return path;
}

/** A copy of `path` without its last byte: a disk ending in a 511-byte footer, as before Virtual PC 2004. */
async function withShortFooter(path: string, shortPath: string): Promise<void> {
  const bytes = await readFile(path);
  await writeFile(shortPath, bytes.subarray(0, bytes.length - 1));
}

/** A dynamic disk made by our writer with data in two of its blocks. */
async function dynamicWithData(path: string): Promise<void> {
  const raw = `${path}.raw`;
  const bytes = Buffer.alloc(6 * MiB);
  randomBytes(MiB).copy(bytes, 0);
  randomBytes(4096).copy(bytes, 5 * MiB);
  await writeFile(raw, bytes);
  await createBaseDisk({ path, fromRaw: raw, type: "dynamic" });
}

const failedChecks = (report: Awaited<ReturnType<typeof verifyDisk>>): string[] =>
  report.checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.detail}`);

describe("1. a stored geometry that differs from the SPEC's algorithm is a note", () => {
  test("qemu's force_size disk (65535/16/255) verifies with a note, and so does a child made off it", async (ctx) => {
    skipWithoutFixtures(ctx, CORPUS_FIXTURES);
    const dir = await folder("geometry");
    const parent = join(dir, "qem2-eci-fixed.vhd");
    await copyFile(join(CORPUS_FIXTURES, "qem2-eci-fixed.vhd"), parent);
    expect((await inspectDisk(parent)).geometry).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
    const report = await verifyDisk(parent);
    expect(failedChecks(report)).toEqual([]);
    expect(report.notes.join("\n")).toMatch(/stored geometry 65535\/16\/255 is not the SPEC algorithm's/);
    const child = join(dir, "child.vhd");
    await createDifferencingDisk({ imagePath: child, parentPath: parent });
    const childReport = await verifyDisk(child);
    expect(failedChecks(childReport)).toEqual([]);
    expect(childReport.ok).toBe(true);
    expect(childReport.notes.join("\n")).toMatch(/65535\/16\/255/);
  });

  test("the note names every creator whose disks qemu sizes by the footer, as qemu-img does, and only those", async () => {
    const dir = await folder("geometry-creators");
    const source = join(dir, "source.vhd");
    // 6 MiB: the SPEC geometry 180/4/17 is 6266880 bytes, so qemu's size tells which one it used.
    await createBaseDisk({ path: source, size: 6 * MiB, type: "dynamic" });
    const bytes = await readFile(source);
    for (const creator of [...QEMU_FOOTER_SIZED_CREATORS, "vpc ", "qemu"]) {
      const footer = { ...decodeFooter(bytes.subarray(0, FOOTER_SIZE)).footer, creatorApplication: creator, cylinders: 179 };
      const encoded = encodeFooter(footer);
      const disk = join(dir, `${creator.trim().replace("\0", "")}.vhd`);
      await writeFile(disk, Buffer.concat([encoded, bytes.subarray(FOOTER_SIZE, bytes.length - FOOTER_SIZE), encoded]));
      const bySize = QEMU_FOOTER_SIZED_CREATORS.includes(creator);
      expect((await qemuImgInfo(disk))["virtual-size"]).toBe(bySize ? 6 * MiB : 179 * 4 * 17 * 512);
      const report = await verifyDisk(disk);
      expect(report.ok).toBe(true);
      const named = report.notes.join("\n").match(/so does qemu for the creators (.*) and for the geometry/)?.[1];
      expect(named?.split(", ").sort()).toEqual(QEMU_FOOTER_SIZED_CREATORS.map((name) => name.replace(/[ \0]+$/, "")).sort());
    }
  });
});

describe("2. a 511-byte tail footer is a footer for every disk type", () => {
  test("dynamic: inspect, verify and read take the 511-byte tail, not the head copy; write makes it 512 bytes", async () => {
    const dir = await folder("short-dynamic");
    const full = join(dir, "full.vhd");
    await dynamicWithData(full);
    const short = join(dir, "short.vhd");
    await withShortFooter(full, short);

    const image = await openDiskImage(short);
    expect(image.footerSource).toBe("short-tail");
    expect(image.footerLength).toBe(511);
    expect(image.warnings).toEqual([]);
    await image.close();
    const info = await inspectDisk(short);
    expect(info.warnings).toEqual([]);
    expect(info.notes).toEqual([expect.stringMatching(/511-byte footer/)]);
    const report = await verifyDisk(short);
    expect(failedChecks(report)).toEqual([]);
    expect(report.checks.find((check) => check.name === "tail footer: present")?.detail).toBe("511 bytes at the end of the file");
    expect((await readComposed(short)).equals(await readComposed(full))).toBe(true);

    // A child off it verifies and reads as its parent.
    const child = join(dir, "child.vhd");
    await createDifferencingDisk({ imagePath: child, parentPath: short });
    expect(failedChecks(await verifyDisk(child))).toEqual([]);
    expect((await readComposed(child)).equals(await readComposed(full))).toBe(true);

    // A write that allocates a block moves the footer to the new end as a whole 512-byte footer, like the head copy.
    const result = await writeAt(short, 3 * MiB, Buffer.alloc(4096, 7));
    expect(result.blocksAllocated).toBe(1);
    expect(result.fileSize % 512).toBe(0);
    const written = await readFile(short);
    expect(written.subarray(written.length - 512).equals(written.subarray(0, 512))).toBe(true);
    expect(failedChecks(await verifyDisk(short))).toEqual([]);
    expect((await inspectDisk(short)).notes).toEqual([]);
    // libvhdi cannot read a 511-byte footer (docs/vhd-format.md §1.1); the rewritten file it reads.
    expect((await vhdiinfo(short)).mediaSize).toBe(6 * MiB);
  });

  test("fixed: the tail is present (511 bytes), no head copy is claimed, and the checksum is valid", async () => {
    const dir = await folder("short-fixed");
    const full = join(dir, "full.vhd");
    await createBaseDisk({ path: full, size: 4 * MiB, type: "fixed" });
    await writeAt(full, 1000, Buffer.from("pre-2004"));
    const short = join(dir, "short.vhd");
    await withShortFooter(full, short);
    const report = await verifyDisk(short);
    expect(failedChecks(report)).toEqual([]);
    expect(report.notes).toEqual([expect.stringMatching(/511-byte footer/)]);
    await writeAt(short, 2000, Buffer.from("in place"));
    expect((await stat(short)).size).toBe(4 * MiB + 511);
    const read = await readComposed(short);
    expect(read.subarray(1000, 1008).toString()).toBe("pre-2004");
    expect(read.subarray(2000, 2008).toString()).toBe("in place");
  });
});

describe("3. parent resolution", () => {
  test("(a) a linked clone named like its missing parent is ERROR_VHD_PARENT_VHD_NOT_FOUND, never compared with itself", async () => {
    const box = await folder("clone/box");
    const vm = await folder("clone/vm");
    await createBaseDisk({ path: join(box, "disk.vhd"), size: 4 * MiB, type: "dynamic" });
    await createDifferencingDisk({ imagePath: join(vm, "disk.vhd"), parentPath: join(box, "disk.vhd") });
    await rename(join(box, "disk.vhd"), join(box, "gone.vhd"));
    const error = await openChain(join(vm, "disk.vhd")).catch((caught: unknown) => caught);
    expect(isVhdError(error) && error.code).toBe("ERROR_VHD_PARENT_VHD_NOT_FOUND");
    if (!isVhdError(error)) return;
    const tried = (error.details["tried"] as { path: string }[]).map((attempt) => attempt.path);
    expect(tried).toContain(join(box, "disk.vhd"));
    expect(tried).not.toContain(join(vm, "disk.vhd"));
    expect(error.message).not.toContain(`${join(vm, "disk.vhd")} (`);
    expect((await verifyDisk(join(vm, "disk.vhd"))).checks.at(-1)?.detail).toMatch(/^ERROR_VHD_PARENT_VHD_NOT_FOUND/);
  });

  test("(b) a parent name relative to the child's folder, with no locator (Xen Orchestra), resolves as libvhdi does", async () => {
    const base = await folder("relative/base");
    const xo = await folder("relative/xo");
    const parentId = new Uint8Array(randomBytes(16));
    const data = new Uint8Array(randomBytes(8192));
    await writeVhd(join(base, "parent.vhd"), { type: "dynamic", virtualSize: 4 * MiB, uniqueId: parentId, writes: [{ offset: 0, data }] });
    const child = join(xo, "child.vhd");
    await writeVhd(child, { type: "differencing", virtualSize: 4 * MiB, parent: { uniqueId: parentId, name: "../base/parent.vhd" } });
    const info = await inspectDisk(child);
    expect(info.parent?.resolvedPath).toBe(join(base, "parent.vhd"));
    const ours = await readComposed(child);
    const oracle = join(xo, "child.pyvhdi.raw");
    await pyvhdiReadChain([child, join(base, "parent.vhd")], oracle);
    expect(ours.equals(await readFile(oracle))).toBe(true);
    expect(ours.subarray(0, 8192).equals(data)).toBe(true);
  });

  test.each(["..\\base\\parent.vhd", "../base/parent.vhd"])(
    "a relative parent name %s whose folder is not there: the parent by its file name next to the child, as the error advises",
    async (name) => {
      const dir = await folder(`relative-moved/${name.includes("\\") ? "backslash" : "slash"}`);
      const parentId = new Uint8Array(randomBytes(16));
      const data = new Uint8Array(randomBytes(4096));
      await writeVhd(join(dir, "parent.vhd"), { type: "dynamic", virtualSize: 4 * MiB, uniqueId: parentId, writes: [{ offset: 0, data }] });
      const child = join(dir, "child.vhd");
      await writeVhd(child, { type: "differencing", virtualSize: 4 * MiB, parent: { uniqueId: parentId, name } });
      const info = await inspectDisk(child);
      expect(info.chainError).toBeUndefined();
      expect(info.parent?.resolvedPath).toBe(join(dir, "parent.vhd"));
      expect((await readComposed(child)).subarray(0, 4096).equals(data)).toBe(true);
    },
  );

  test("a disk that names itself or its child as parent, with the right id, is still a loop", async () => {
    const dir = await folder("loop");
    const id = new Uint8Array(randomBytes(16));
    await writeVhd(join(dir, "self.vhd"), { type: "differencing", virtualSize: MiB, uniqueId: id, parent: { uniqueId: id, name: "self.vhd" } });
    await expect(openChain(join(dir, "self.vhd"))).rejects.toMatchObject({ code: "ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED" });
  });
});

describe("4. blocks we allocate are 4 KiB-aligned; inspect reports Get-VHD's Alignment", () => {
  test("create --from, write into a child: every block's data on a 4 KiB boundary, Alignment 1", async () => {
    const dir = await folder("aligned");
    const base = join(dir, "base.vhd");
    await dynamicWithData(base);
    const child = join(dir, "child.vhd");
    await createDifferencingDisk({ imagePath: child, parentPath: base });
    await writeAt(child, 2 * MiB + 100, Buffer.alloc(5000, 3));
    await writeAt(child, 0, Buffer.alloc(512, 4));
    for (const path of [base, child]) {
      const image = await openDiskImage(path);
      const entries = [...(image.bat ?? [])].filter((entry) => entry !== 0xffffffff);
      expect(entries.length).toBeGreaterThan(1);
      for (const entry of entries) expect((entry * 512 + 512) % 4096).toBe(0);
      await image.close();
      expect((await inspectDisk(path)).alignment).toBe(1);
      expect(failedChecks(await verifyDisk(path))).toEqual([]);
    }
  });

  test("Windows' fat-differential.vhd is aligned; qemu's packed blocks are not (a note, not a failure)", async (ctx) => {
    skipWithoutFixtures(ctx, DFVFS_FIXTURES);
    expect((await inspectDisk(join(DFVFS_FIXTURES, "fat-differential.vhd"))).alignment).toBe(1);
    const dir = await folder("qemu");
    const qemu = join(dir, "qemu.vhd");
    await qemuImgCreate(qemu, "8M");
    await writeAt(qemu, 0, Buffer.alloc(4096, 1));
    const ours = await inspectDisk(qemu);
    expect(ours.alignment).toBe(1);
    const packed = await inspectDisk(join(DFVFS_FIXTURES, "ext2.vhd"));
    expect(packed.alignment).toBe(0);
    const report = await verifyDisk(join(DFVFS_FIXTURES, "ext2.vhd"));
    expect(report.ok).toBe(true);
    expect(report.notes.join("\n")).toMatch(/Alignment 0/);
  });
});

describe("5. a fixed disk's file size must fit its layout in both directions", () => {
  test("2 MiB of slack before the footer: verify fails with the reason, and it is refused as a parent", async () => {
    const dir = await folder("slack");
    const good = join(dir, "good.vhd");
    await createBaseDisk({ path: good, size: 4 * MiB, type: "fixed" });
    const bytes = await readFile(good);
    const slack = join(dir, "slack.vhd");
    await writeFile(slack, Buffer.concat([bytes.subarray(0, 4 * MiB), Buffer.alloc(2 * MiB), bytes.subarray(4 * MiB)]));
    const report = await verifyDisk(slack);
    expect(report.ok).toBe(false);
    expect(failedChecks(report)).toEqual([expect.stringMatching(/^structure: currentSize: .*2097152 bytes lie between the data and the footer/)]);
    const error = await createDifferencingDisk({ imagePath: join(dir, "child.vhd"), parentPath: slack }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "ERROR_VHD_INVALID_FILE_SIZE", parameter: "parentPath", path: slack });
    await expect(stat(join(dir, "child.vhd"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("slack in a fixed grandparent: the parent is refused, and the error names the grandparent", async () => {
    const dir = await folder("slack-ancestor");
    const grandparent = join(dir, "golden.vhd");
    await createBaseDisk({ path: grandparent, size: 4 * MiB, type: "fixed" });
    const parent = join(dir, "parent.vhd");
    await createDifferencingDisk({ imagePath: parent, parentPath: grandparent });
    const bytes = await readFile(grandparent);
    await writeFile(grandparent, Buffer.concat([bytes.subarray(0, 4 * MiB), Buffer.alloc(2 * MiB), bytes.subarray(4 * MiB)]));
    const error = await createDifferencingDisk({ imagePath: join(dir, "child.vhd"), parentPath: parent }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "ERROR_VHD_INVALID_FILE_SIZE", parameter: "parentPath", path: parent });
    expect((error as Error).message).toContain(`its ancestor ${grandparent} is damaged: a fixed disk of 4194304 bytes`);
  });

  test("a short file: verify fails to open it and it is refused as a parent, with the same error", async () => {
    const dir = await folder("short-file");
    const short = join(dir, "short.vhd");
    await createBaseDisk({ path: short, size: 4 * MiB, type: "fixed" });
    const bytes = await readFile(short);
    await writeFile(short, Buffer.concat([bytes.subarray(0, MiB), bytes.subarray(4 * MiB)]));
    const report = await verifyDisk(short);
    expect(report.ok).toBe(false);
    expect(failedChecks(report)).toEqual([expect.stringMatching(/^opens as a VHD: ERROR_VHD_INVALID_FILE_SIZE/)]);
    const error = await createDifferencingDisk({ imagePath: join(dir, "child.vhd"), parentPath: short }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "ERROR_VHD_INVALID_FILE_SIZE", parameter: "parentPath" });
  });
});
