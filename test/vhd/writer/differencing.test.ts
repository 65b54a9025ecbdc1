import { copyFile, mkdir, open, stat } from "node:fs/promises";
import { basename, join, sep } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pyvhdiReadChain, qemuImgCreate, qemuImgInfo, vhdiinfo } from "../../support/oracles";
import { createFileAtomically } from "../../../provider/storage/atomic-create";
import { openChain } from "../../../provider/disk/chain";
import { CREATOR, DiskType, formatUniqueId, vhdTimeStampFromDate } from "../../../provider/vhd/format";
import { chsCapacity } from "../../support/chs-capacity";
import { writeAt } from "../../../provider/vhd/writer/block-writer";
import { writeDifferencingDisk } from "../../../provider/vhd/writer/writer";
import {
  MIB,
  createBase,
  createChild,
  fileSha256,
  footerCopies,
  readComposed,
  sha256,
  tempFolder,
  withImage,
} from "./disks";
import { DFVFS_FIXTURES, fixturesMissing, skipWithoutFixtures } from "../../support/fixtures";
import { localStorage } from "../../../provider/storage/local/local-storage";
import { readParentFacts } from "../../../provider/vhd/writer/parent-footer";

const DFVFS = DFVFS_FIXTURES;
/** The dfvfs samples that are parents too; where the samples are missing, their children's tests skip with the reason. */
const SAMPLE_PARENTS = ["image.vhd", "ext2.vhd"];

let folder: string;
let cleanup: () => Promise<void>;
/** Every kind of parent the writer must accept, made once. */
const parents: Record<string, string> = {};

beforeAll(async () => {
  ({ folder, cleanup } = await tempFolder("diff"));
  // 4 MiB is not a whole CHS product (SPEC geometry 120/4/17 = 4,177,920 bytes): the size must survive exactly.
  parents.dynamic = join(folder, "dynamic.vhd");
  await createBase(parents.dynamic, { size: 4 * MIB, type: "dynamic", blockSize: 512 * 1024 });
  await writeAt(parents.dynamic, 3 * MIB + 4096, Buffer.alloc(8192, 0x5a));
  parents.fixed = join(folder, "fixed.vhd");
  await createBase(parents.fixed, { size: 4 * MIB, type: "fixed" });
  await writeAt(parents.fixed, 12_345, Buffer.alloc(1000, 0xc3));
  parents.differencing = join(folder, "middle.vhd");
  await createChild(parents.differencing, parents.dynamic);
  await writeAt(parents.differencing, 0, Buffer.alloc(4096, 0x11));
  parents.qemu = join(folder, "qemu.vhd");
  await qemuImgCreate(parents.qemu, "6M");
  for (const sample of fixturesMissing(DFVFS) ? [] : SAMPLE_PARENTS) {
    parents[sample] = join(folder, sample);
    await copyFile(join(DFVFS, sample), parents[sample]);
  }
});
afterAll(async () => {
  await cleanup();
});

describe.each(["dynamic", "fixed", "differencing", "qemu", ...SAMPLE_PARENTS])("a child of the %s parent", (kind) => {
  let parentPath: string;
  let childPath: string;
  let parentDigestBefore: string;
  let parentMtimeBefore: number;

  beforeEach((ctx) => {
    if (SAMPLE_PARENTS.includes(kind)) skipWithoutFixtures(ctx, DFVFS);
  });
  beforeAll(async () => {
    const made = parents[kind];
    if (made === undefined) return; // a sample parent not on this machine: beforeEach skips the tests
    parentPath = made;
    childPath = join(folder, `child-of-${kind.replace(".vhd", "")}.vhd`);
    parentDigestBefore = await fileSha256(parentPath);
    parentMtimeBefore = (await stat(parentPath)).mtimeMs;
    await createChild(childPath, parentPath);
  });

  it("records the parent's raw unique id, file name, mtime, size and geometry", async () => {
    const parentFooter = await withImage(parentPath, (parent) => parent.footer);
    await withImage(childPath, (child) => {
      expect(child.footer.diskType).toBe(DiskType.Differencing);
      expect(child.footer.currentSize).toBe(parentFooter.currentSize);
      expect(child.footer.originalSize).toBe(parentFooter.currentSize);
      expect([child.footer.cylinders, child.footer.heads, child.footer.sectorsPerTrack]).toEqual([
        parentFooter.cylinders,
        parentFooter.heads,
        parentFooter.sectorsPerTrack,
      ]);
      expect(child.footer.creatorApplication).toBe(CREATOR.application);
      expect(Buffer.from(child.header?.parentUniqueId ?? [])).toEqual(Buffer.from(parentFooter.uniqueId));
      expect(Buffer.from(child.footer.uniqueId)).not.toEqual(Buffer.from(parentFooter.uniqueId));
      expect(child.header?.parentUnicodeName).toBe(basename(parentPath));
      expect(child.header?.parentTimeStamp).toBe(vhdTimeStampFromDate(parentMtimeBefore));
      expect(child.bat?.every((entry) => entry === 0xffffffff)).toBe(true);
    });
  });

  it("writes W2ku (absolute, backslashes) and W2ru (.\\name) locators", async () => {
    const locators = await withImage(childPath, (child) => child.locators.map(({ entry, path }) => [entry.platformCode, path]));
    expect(locators).toEqual([
      ["W2ku", parentPath.split(sep).join("\\")],
      ["W2ru", `.\\${basename(parentPath)}`],
    ]);
  });

  it("keeps the head and tail footer copies byte-identical", async () => {
    const { head, tail } = await footerCopies(childPath);
    expect(head.toString("latin1", 0, 8)).toBe("conectix");
    expect(head).toEqual(tail);
  });

  it("is read by vhdiinfo with our parent identifier and parent file name", async () => {
    const [info, parentId] = await Promise.all([
      vhdiinfo(childPath),
      withImage(parentPath, (parent) => formatUniqueId(parent.footer.uniqueId)),
    ]);
    expect(info.diskType).toBe("Differential");
    expect(info.parentIdentifier).toBe(parentId);
    expect(info.parentFilename).toBe(basename(parentPath));
  });

  it("has the parent's virtual size in qemu-img", async () => {
    const [childInfo, parentSize] = await Promise.all([
      qemuImgInfo(childPath),
      withImage(parentPath, (parent) => parent.virtualSize),
    ]);
    expect(childInfo["virtual-size"]).toBe(parentSize);
  });

  it("reads through to the parent identically in pyvhdi and in our reader", async () => {
    const chain = await openChain(childPath);
    const paths = chain.images.map((image) => image.path);
    await chain.close();
    const [ours, theirs] = await Promise.all([readComposed(childPath), pyvhdiReadChain(paths, join(folder, `${kind}.raw`))]);
    expect(theirs.sha256).toBe(sha256(ours));
    expect(sha256(ours)).toBe(sha256(await readComposed(parentPath)));
  });

  it("never modified the parent", async () => {
    expect(await fileSha256(parentPath)).toBe(parentDigestBefore);
    expect((await stat(parentPath)).mtimeMs).toBe(parentMtimeBefore);
  });
});

describe("differencing disk details", () => {
  it("keeps a size that is not a whole CHS product exactly, in qemu-img and vhdiinfo", async () => {
    const parentPath = parents.dynamic as string;
    const childPath = join(folder, "exact-size-child.vhd");
    await createChild(childPath, parentPath);
    const geometry = await withImage(childPath, (child) => chsCapacity(child.footer));
    expect(geometry).toBe(4_177_920);
    expect((await qemuImgInfo(parentPath))["virtual-size"]).toBe(4 * MIB);
    expect((await qemuImgInfo(childPath))["virtual-size"]).toBe(4 * MIB);
    expect((await vhdiinfo(childPath)).mediaSize).toBe(4 * MIB);
  });

  it("is only metadata: head footer, header, BAT, two 1 KiB locators, tail footer", async () => {
    const childPath = join(folder, "size-child.vhd");
    await createChild(childPath, parents.dynamic as string);
    // 4 MiB / 2 MiB = 2 BAT entries, padded to one sector.
    expect((await stat(childPath)).size).toBe(512 + 1024 + 512 + 2 * 1024 + 512);
  });

  it("writes W2ru relative to the child's folder when the parent lives elsewhere, and the chain resolves", async () => {
    const goldenFolder = join(folder, "golden");
    const vmFolder = join(folder, "vms", "web");
    await mkdir(goldenFolder, { recursive: true });
    await mkdir(vmFolder, { recursive: true });
    const parentPath = join(goldenFolder, "base image.vhd");
    await copyFile(parents.fixed as string, parentPath);
    const childPath = join(vmFolder, "web.vhd");
    await createChild(childPath, parentPath);
    const w2ru = await withImage(childPath, (child) => child.locators.find((locator) => locator.entry.platformCode === "W2ru")?.path);
    expect(w2ru).toBe("..\\..\\golden\\base image.vhd");
    const chain = await openChain(childPath);
    expect(chain.images.map((image) => image.path)[1]).toContain("base image.vhd");
    await chain.close();
  });

  it("uses the block size asked for, and refuses one Windows does not offer", async () => {
    const childPath = join(folder, "small-blocks.vhd");
    await createChild(childPath, parents.dynamic as string, 512 * 1024);
    expect(await withImage(childPath, (child) => [child.blockSize, child.header?.maxTableEntries])).toEqual([512 * 1024, 8]);
    const refused = join(folder, "odd-blocks.vhd");
    await expect(createChild(refused, parents.dynamic as string, 3 * MIB)).rejects.toMatchObject({
      code: "ERROR_VHD_INVALID_BLOCK_SIZE",
      parameter: "blockSize",
    });
    await expect(stat(refused)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("takes the parent's identity from its head footer copy when the tail footer is damaged", async () => {
    const damaged = join(folder, "damaged-tail.vhd");
    await copyFile(parents.dynamic as string, damaged);
    const size = (await stat(damaged)).size;
    const handle = await open(damaged, "r+");
    await handle.write(Buffer.from("garbage!"), 0, 8, size - 512);
    await handle.close();
    const childPath = join(folder, "child-of-damaged.vhd");
    await createChild(childPath, damaged);
    const [parentId, recorded] = await Promise.all([
      withImage(parents.dynamic as string, (parent) => formatUniqueId(parent.footer.uniqueId)),
      vhdiinfo(childPath).then((info) => info.parentIdentifier),
    ]);
    expect(recorded).toBe(parentId);
  });

  it("refuses a parent that is not a VHD, leaving nothing at the target", async () => {
    const notVhd = join(folder, "notes.txt");
    await createFileAtomically(notVhd, (file) => file.write(0, Buffer.alloc(4096, 0x41)), { storage: localStorage });
    const childPath = join(folder, "orphan.vhd");
    await expect(createChild(childPath, notVhd)).rejects.toMatchObject({ code: "ERROR_VHD_FORMAT_UNKNOWN", parameter: "parentPath" });
    await expect(stat(childPath)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("stops with VM_E_APP_SHUTTING_DOWN when cancelled, leaving nothing behind", async () => {
    const childPath = join(folder, "cancelled.vhd");
    const controller = new AbortController();
    controller.abort();
    const parentPath = parents.dynamic as string;
    const parent = await readParentFacts(localStorage, parentPath);
    const creating = createFileAtomically(
      childPath,
      (file, signal) => writeDifferencingDisk(file, parent, { imagePath: childPath, parentPath, ...(signal && { signal }) }),
      { storage: localStorage, signal: controller.signal },
    );
    await expect(creating).rejects.toMatchObject({ code: "VM_E_APP_SHUTTING_DOWN" });
    await expect(stat(childPath)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
