/**
 * `setParent` of a differencing VHDX (vhdx/relink.ts through the driver seam): the parent moved, the child is pointed
 * at its new path, on real files. Checked: the parent locator holds the new paths and the same `parent_linkage`; the
 * child's DataWriteGuid, BAT and blocks are the bytes they were; the parent is never written; the chain reads the
 * same through our reader and through pyvhdi; vhdiinfo shows the new parent file name; a locator that outgrows its
 * place moves into free metadata space. libvhdi never matches `relative_path` (its key-length bug,
 * docs/vhdx-format.md §7 point 4): vhdiinfo's parent file name is its reading of `absolute_win32_path`, and pyvhdi
 * is handed the parent file (it does not look for it), so `relative_path` is checked by our reader resolving the
 * moved parent through it. The same checks as the VHD relink refuse another parent (id, size, format, a loop).
 * Crash safety: the relink stopped after each of its writes (whole or torn) leaves a file that opens with the old or
 * the new locator, every data byte as it was, and running it again completes it; the whole `setParent` on the memory
 * adapter with an I/O error at each write does the same. A Windows-made child's locator (with `parent_linkage2` and
 * `volume_path`) is rewritten the same way, and the unlinked checksum of a relinked middle disk holds.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { openChain } from "../../provider/disk/chain";
import { isVhdError } from "../../provider/errors";
import { createBaseDisk } from "../../provider/ops/create-base";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { setParent } from "../../provider/ops/set-parent";
import { writeDisk } from "../../provider/disk/formats";
import { MemoryFile, SimulatedCrash } from "../../provider/storage/memory/memory-file";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";
import { MIB, METADATA_ITEM_GUIDS, REGION_GUIDS } from "../../provider/vhdx/format";
import { openVhdx, type VhdxImage } from "../../provider/vhdx/reader";
import { relinkVhdx, type VhdxParentLink } from "../../provider/vhdx/relink";
import { unlinkedSha256 } from "../../provider/vhd/unlinked-checksum";
import { skipWithoutFixtures, VHDX_FIXTURES } from "../support/fixtures";
import { pyvhdiReadChain, vhdiinfo } from "../support/oracles";
import { useTempDir } from "../vhd/reader/temp-dir";
import { countingFile, decompressFixture, HAVE, headerWrites, newTraffic } from "./support";

const temp = useTempDir("vhdx-relink");
const SIZE = 8 * MIB;

/** A golden VHDX with random data, a child of it with a VM's write, in `dir`; returns their paths and the content. */
async function chainIn(dir: string): Promise<{ golden: string; child: string; content: Buffer }> {
  await mkdir(dir, { recursive: true });
  const raw = randomBytes(SIZE);
  await writeFile(join(dir, "golden.raw"), raw);
  const golden = join(dir, "golden.vhdx");
  const child = join(dir, "child.vhdx");
  await createBaseDisk({ path: golden, fromRaw: join(dir, "golden.raw"), blockSize: MIB });
  await createDifferencingDisk({ imagePath: child, parentPath: golden });
  const written = randomBytes(3 * MIB);
  await writeDisk(child, MIB + 4096, written);
  const content = Buffer.from(raw);
  written.copy(content, MIB + 4096);
  return { golden, child, content };
}

async function readChain(path: string): Promise<Buffer> {
  const chain = await openChain(path);
  try {
    return Buffer.from(await chain.read(0, chain.virtualSize));
  } finally {
    await chain.close();
  }
}

async function withImage<T>(bytes: Uint8Array, look: (image: VhdxImage) => T | Promise<T>): Promise<T> {
  const image = await openVhdx(new MemoryFile("look.vhdx", bytes));
  return look(image);
}

/** The bytes a relink must leave as they were: everything from the BAT region on (BAT, bitmaps, blocks). */
async function dataPart(bytes: Uint8Array): Promise<Buffer> {
  const bat = await withImage(bytes, (image) => image.regions.find((region) => region.guid === REGION_GUIDS.bat)?.fileOffset ?? 0);
  expect(bat).toBeGreaterThan(0);
  return Buffer.from(bytes.subarray(bat));
}

describe("setParent of a differencing VHDX", () => {
  test("the moved parent is relinked: new locator paths, same linkage, data, BAT and DataWriteGuid untouched; oracles agree", async (ctx) => {
    const { golden, child, content } = await chainIn(join(temp.path(), "a"));
    const goldenBytes = await readFile(golden);
    const before = await readFile(child);
    const moved = join(temp.path(), "a", "images", "golden-moved.vhdx");
    await mkdir(join(temp.path(), "a", "images"));
    await rename(golden, moved);
    await expect(openChain(child)).rejects.toMatchObject({ code: "ERROR_VHD_PARENT_VHD_NOT_FOUND" });

    const result = await setParent({ imagePath: child, parentPath: moved });
    expect(result.idMismatchIgnored).toBe(false);
    expect(result.disk.parent?.resolvedPath).toBe(moved);
    const after = await readFile(child);
    expect((await readFile(moved)).equals(goldenBytes)).toBe(true);
    expect((await dataPart(after)).equals(await dataPart(before))).toBe(true);
    const [old, now] = await Promise.all([withImage(before, (image) => image), withImage(after, (image) => image)]);
    expect(now.dataWriteGuid).toBe(old.dataWriteGuid);
    expect(now.fileWriteGuid).not.toBe(old.fileWriteGuid);
    expect(now.fileId).toBe(old.fileId);
    expect(now.parentLocator).toMatchObject({
      parentLinkage: old.parentLocator?.parentLinkage,
      relativePath: ".\\images\\golden-moved.vhdx",
      absoluteWin32Path: `\\\\?\\${moved.slice(1).split("/").join("\\")}`,
    });
    // Found by relative_path, the first key the spec's order tries.
    const chain = await openChain(child);
    expect(chain.links[0]?.attempts?.[0]).toMatchObject({ path: moved });
    await chain.close();
    expect((await readChain(child)).equals(content)).toBe(true);

    if (!HAVE.pyvhdi || !HAVE.vhdiinfo) return ctx.skip("libvhdi's vhdiinfo or pyvhdi is not installed");
    const info = await vhdiinfo(child);
    expect(info.parentFilename?.endsWith("\\images\\golden-moved.vhdx")).toBe(true);
    expect(info.parentIdentifier).toBe(old.parentLocator?.parentLinkage.replace(/[{}]/g, ""));
    const out = join(temp.path(), "a", "pyvhdi.raw");
    await pyvhdiReadChain([child, moved], out);
    expect((await readFile(out)).equals(content)).toBe(true);
  });

  test("a locator that outgrows its place moves into free metadata space, the old bytes zeroed, in one commit", async () => {
    const { golden, child, content } = await chainIn(join(temp.path(), "b"));
    const deep = join(temp.path(), "b", "a-much-longer-folder-name-for-the-golden-image", "and-another-level-below-it");
    await mkdir(deep, { recursive: true });
    const moved = join(deep, "golden-image-with-a-long-file-name-too.vhdx");
    await rename(golden, moved);
    const before = await readFile(child);
    const oldItem = await withImage(before, (image) => image.metadataEntries.find((entry) => entry.itemId === METADATA_ITEM_GUIDS.parentLocator));
    await setParent({ imagePath: child, parentPath: moved, pathRules: "posix" });
    const after = await readFile(child);
    const { item, region } = await withImage(after, (image) => ({
      item: image.metadataEntries.find((entry) => entry.itemId === METADATA_ITEM_GUIDS.parentLocator),
      region: image.regions.find((entry) => entry.guid === REGION_GUIDS.metadata),
    }));
    expect(oldItem && item && region).toBeTruthy();
    if (!oldItem || !item || !region) return;
    expect(item.length).toBeGreaterThan(oldItem.length);
    expect(item.offset).not.toBe(oldItem.offset);
    expect(after.subarray(region.fileOffset + oldItem.offset, region.fileOffset + oldItem.offset + oldItem.length).every((byte) => byte === 0)).toBe(true);
    expect((await readChain(child)).equals(content)).toBe(true);
    // Back to a short path: the item fits at its new place again and stays there.
    const short = join(temp.path(), "b", "g.vhdx");
    await rename(moved, short);
    await setParent({ imagePath: child, parentPath: short });
    expect((await readChain(child)).equals(content)).toBe(true);
  });

  test("another parent is refused as the VHD relink refuses it: id (unless ignored), size, format, a loop; nothing written", async () => {
    const dir = join(temp.path(), "c");
    const { golden, child } = await chainIn(dir);
    const before = await readFile(child);
    const other = join(dir, "other.vhdx");
    await createBaseDisk({ path: other, size: SIZE });
    const small = join(dir, "small.vhdx");
    await createBaseDisk({ path: small, size: SIZE / 2 });
    const vhd = join(dir, "golden.vhd");
    await createBaseDisk({ path: vhd, fromRaw: join(dir, "golden.raw") });
    const grandchild = join(dir, "grandchild.vhdx");
    await createDifferencingDisk({ imagePath: grandchild, parentPath: child });
    const refusals: [string, string][] = [
      [other, "ERROR_VHD_CHILD_PARENT_ID_MISMATCH"],
      [small, "ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH"],
      [vhd, "ERROR_VHD_INVALID_TYPE"],
      [grandchild, "ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED"],
    ];
    for (const [parentPath, code] of refusals) {
      const error: unknown = await setParent({ imagePath: child, parentPath }).catch((caught: unknown) => caught);
      expect(isVhdError(error) && { code: error.code, parameter: error.parameter }, parentPath).toEqual({ code, parameter: "parentPath" });
    }
    expect((await readFile(child)).equals(before)).toBe(true);
    // Forced (Set-VHD -IgnoreIdMismatch): the child now links to the other disk's DataWriteGuid and reads through it.
    const forced = await setParent({ imagePath: child, parentPath: other, ignoreIdMismatch: true });
    expect(forced.idMismatchIgnored).toBe(true);
    const otherId = await withImage(await readFile(other), (image) => image.uniqueId);
    expect(forced.disk.parent?.uniqueId).toBe(otherId);
    expect(golden).toBeTruthy();
  });
});

describe("setParent of a Windows-made differencing VHDX (dissect's differencing.avhdx, its parent not available)", () => {
  const FIXTURE = "win10.0.17763_dissect-differencing.avhdx.gz";

  test("forced onto a new empty parent: the locator gets our keys (parent_linkage2 and volume_path dropped), the data stays", async (ctx) => {
    skipWithoutFixtures(ctx, join(VHDX_FIXTURES, FIXTURE));
    const dir = join(temp.path(), "windows");
    await mkdir(dir);
    const child = join(dir, "child.avhdx");
    await decompressFixture(FIXTURE, child);
    const before = Uint8Array.from(await readFile(child));
    const old = await withImage(before, (image) => ({
      locator: image.parentLocator,
      dataWriteGuid: image.dataWriteGuid,
      size: image.virtualSize,
    }));
    expect(old.locator?.entries.map((entry) => entry.key).sort()).toEqual(
      ["absolute_win32_path", "parent_linkage", "parent_linkage2", "relative_path", "volume_path"],
    );
    // What the child holds itself, read with a parent of zeros: what it must read through the new empty parent.
    const zeros = { read: (_offset: number, length: number) => Promise.resolve(new Uint8Array(length)) };
    const held = await withImage(before, async (image) => {
      const extents = (await image.mapRange(0, image.virtualSize)).filter((extent) => extent.kind === "data");
      return Promise.all(extents.map(async (extent) => ({ ...extent, bytes: Buffer.from(await image.read(extent.offset, extent.length, zeros)) })));
    });
    expect(held.length).toBeGreaterThan(0);
    const parent = join(dir, "new-parent.vhdx");
    await createBaseDisk({ path: parent, size: old.size });
    await expect(setParent({ imagePath: child, parentPath: parent })).rejects.toMatchObject({ code: "ERROR_VHD_CHILD_PARENT_ID_MISMATCH" });
    await setParent({ imagePath: child, parentPath: parent, ignoreIdMismatch: true });
    const after = await readFile(child);
    expect((await dataPart(after)).equals(await dataPart(before))).toBe(true);
    const now = await withImage(after, (image) => ({ locator: image.parentLocator, dataWriteGuid: image.dataWriteGuid }));
    expect(now.dataWriteGuid).toBe(old.dataWriteGuid);
    expect(now.locator?.entries.map((entry) => entry.key)).toEqual(["parent_linkage", "relative_path", "absolute_win32_path"]);
    expect(now.locator?.relativePath).toBe(".\\new-parent.vhdx");
    const chain = await openChain(child);
    try {
      for (const extent of held) expect(Buffer.from(await chain.read(extent.offset, extent.length)).equals(extent.bytes)).toBe(true);
    } finally {
      await chain.close();
    }
    if (!HAVE.vhdiinfo) return ctx.skip("libvhdi's vhdiinfo is not installed");
    const info = await vhdiinfo(child);
    expect(info.parentFilename?.endsWith("\\new-parent.vhdx")).toBe(true);
    expect(info.parentIdentifier).toBe(await withImage(await readFile(parent), (image) => image.uniqueId));
  });
});

describe("the unlinked checksum of a VHDX middle disk (what a disk below it records)", () => {
  test("stays the same across relinks, also when the locator moves; a data write changes it", async () => {
    const { golden, child } = await chainIn(join(temp.path(), "d"));
    const before = (await unlinkedSha256(child)).checksum;
    const moved = join(temp.path(), "d", "a-longer-folder-name", "golden-moved.vhdx");
    await mkdir(join(temp.path(), "d", "a-longer-folder-name"));
    await rename(golden, moved);
    await setParent({ imagePath: child, parentPath: moved });
    expect((await unlinkedSha256(child)).checksum).toBe(before);
    await rename(moved, golden);
    await setParent({ imagePath: child, parentPath: golden });
    expect((await unlinkedSha256(child)).checksum).toBe(before);
    await writeDisk(child, 6 * MIB, Buffer.alloc(4096, 0x5c));
    expect((await unlinkedSha256(child)).checksum).not.toBe(before);
  });
});

describe("a relink interrupted at each of its writes", () => {
  test("opens with the old or the new locator, data untouched; running it again completes it", async () => {
    const { golden, child } = await chainIn(join(temp.path(), "crash"));
    const initial = Uint8Array.from(await readFile(child));
    const parent = await withImage(await readFile(golden), (image) => image.dataWriteGuid);
    const expectedId = await withImage(initial, (image) => image.uniqueId);
    const link: VhdxParentLink = {
      dataWriteGuid: parent,
      relativePath: ".\\somewhere\\else\\with-a-longer-name-than-before-so-the-item-moves.vhdx",
      absoluteWin32Path: "\\\\?\\somewhere\\else\\with-a-longer-name-than-before-so-the-item-moves.vhdx",
    };
    const complete = new MemoryFile("child.vhdx", initial);
    const traffic = newTraffic();
    await relinkVhdx(countingFile(complete, traffic), link, expectedId);
    const total = complete.writes;
    expect(total).toBeGreaterThan(4);
    // Both headers when the session's FileWriteGuid and the LogGuid are named (one update), both when it is cleared.
    expect(headerWrites(traffic)).toBe(4);
    const oldPath = await withImage(initial, (image) => image.parentLocator?.relativePath);
    const oldData = await dataPart(initial);
    const outcomes = new Set<string>();
    for (let writes = 0; writes < total; writes++) {
      for (const tornBytes of [undefined, 100]) {
        const file = new MemoryFile("child.vhdx", initial, { writes, ...(tornBytes === undefined ? {} : { tornBytes }) });
        await relinkVhdx(file, link, expectedId).then(
          () => expect.fail(`no crash at write ${writes}`),
          (error: unknown) => expect(error).toBeInstanceOf(SimulatedCrash),
        );
        const crashed = Uint8Array.from(file.bytes);
        const { path, id } = await withImage(crashed, (image) => ({ path: image.parentLocator?.relativePath, id: image.uniqueId }));
        expect([oldPath, link.relativePath], `crash at write ${writes}, torn ${String(tornBytes)}`).toContain(path);
        expect(id).toBe(expectedId);
        expect((await dataPart(crashed)).equals(oldData)).toBe(true);
        outcomes.add(path === oldPath ? "old" : "new");
        const again = new MemoryFile("child.vhdx", crashed);
        await relinkVhdx(again, link, expectedId);
        expect(await withImage(again.bytes, (image) => image.parentLocator?.relativePath)).toBe(link.relativePath);
      }
    }
    expect([...outcomes].sort()).toEqual(["new", "old"]);
  });

  test("an I/O error (whole or torn) at each write of setParent on the memory adapter leaves the old or new locator, the parent untouched", async () => {
    const { golden, child } = await chainIn(join(temp.path(), "io"));
    const [goldenBytes, childBytes] = [Uint8Array.from(await readFile(golden)), Uint8Array.from(await readFile(child))];
    const storageWith = (): MemoryStorage =>
      new MemoryStorage().addFile("/d/images/golden.vhdx", goldenBytes).addFile("/d/child.vhdx", childBytes);
    const args = { imagePath: "/d/child.vhdx", parentPath: "/d/images/golden.vhdx" };
    const clean = storageWith();
    const before = clean.writes;
    await setParent({ ...args, storage: clean });
    const total = clean.writes - before;
    expect(total).toBeGreaterThan(4);
    const oldData = await dataPart(childBytes);
    for (let nth = 1; nth <= total; nth++) {
      for (const tornBytes of [0, 5]) {
        const storage = storageWith().failWrite(nth, { errno: "EIO", tornBytes });
        const failure: unknown = await setParent({ ...args, storage }).then(() => undefined, (error: unknown) => error);
        expect(failure === undefined || isVhdError(failure), `write ${nth}: ${String(failure)}`).toBe(true);
        const bytes = storage.fileBytes("/d/child.vhdx") ?? new Uint8Array(0);
        const path = await withImage(bytes, (image) => image.parentLocator?.relativePath);
        expect([".\\golden.vhdx", ".\\images\\golden.vhdx"], `write ${nth}, torn ${tornBytes}`).toContain(path);
        expect((await dataPart(bytes)).equals(oldData)).toBe(true);
        expect(Buffer.compare(storage.fileBytes("/d/images/golden.vhdx") ?? new Uint8Array(0), goldenBytes)).toBe(0);
      }
    }
  });
});
