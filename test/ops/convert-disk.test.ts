/**
 * convertDisk: only the source's allocated extents are read (an almost empty 2000 GiB VHDX converts to VHD by its
 * maps, no raw staging file), the target format's size limit is checked before anything is written, the default
 * block size is `create`'s for the target format, and sparseness survives in both directions (checked by qemu-img).
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openChain } from "../../provider/disk/chain";
import { writeDisk } from "../../provider/disk/formats";
import { createBaseDisk } from "../../provider/ops/create-base";
import { convertDisk } from "../../provider/ops/convert-disk";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";
import { localStorage } from "../../provider/storage/local/local-storage";
import type { Storage } from "../../provider/storage/port";
import { wrappedFile } from "../../provider/storage/wrapped-file";
import { inspectDisk } from "../../provider/disk/inspect";
import { VhdError } from "../../provider/errors";
import { makeTemp, removeTemp, witness } from "../inputs/fixtures";
import { qemuImgConvertToRaw, vhdiinfo } from "../support/oracles";
import { HAVE } from "../vhdx/support";

const MIB = 2 ** 20;
const GIB = 2 ** 30;

let temp: string;
beforeEach(async () => {
  temp = await makeTemp("convert");
});
afterEach(() => removeTemp(temp));

async function readThroughChain(file: string, offset: number, length: number, storage?: MemoryStorage): Promise<Buffer> {
  const chain = await openChain(file, storage === undefined ? {} : { storage });
  try {
    return Buffer.from(await chain.read(offset, length));
  } finally {
    await chain.close();
  }
}

describe("convertDisk of a large, almost empty VHDX", () => {
  it("reads only the maps and the data: 2000 GiB with 1 MiB written converts to VHD in a handful of reads", async () => {
    const storage = new MemoryStorage().addFolder(temp);
    const source = path.join(temp, "big.vhdx");
    const target = path.join(temp, "big.vhd");
    await createBaseDisk({ storage, path: source, size: 2000 * GIB, pathRules: "posix" });
    const data = randomBytes(MIB);
    await writeDisk(source, 1999 * GIB, data, { storage });
    const before = storage.counts(source).reads;

    const result = await convertDisk({ storage, source, target });

    // The source's reads: its headers, region table, metadata and BAT, then the one block holding data. Walking
    // the virtual disk in pieces (or a raw staging copy of it) would take a million.
    expect(storage.counts(source).reads - before).toBeLessThan(50);
    expect(result).toMatchObject({ format: "vhd", virtualSize: 2000 * GIB });
    // One 2 MiB block allocated: the BAT (4 MB for 2000 GiB) and that block.
    expect(result.fileSize).toBeLessThan(8 * MIB);
    expect(storage.paths().filter((name) => name.startsWith(temp) && name !== temp).sort()).toEqual([source, target].sort());
    expect((await readThroughChain(target, 1999 * GIB, MIB, storage)).equals(data)).toBe(true);
    expect((await readThroughChain(target, 1999 * GIB - MIB, MIB, storage)).every((byte) => byte === 0)).toBe(true);
  });

  it("refuses a VHDX above the VHD limit of 2040 GiB before writing anything: VM_E_IMAGE_SIZE_TOO_LARGE", async () => {
    const source = path.join(temp, "huge.vhdx");
    const target = path.join(temp, "huge.vhd");
    await createBaseDisk({ path: source, size: 2041 * GIB });
    const observed = await witness({ folder: temp, imagePath: target, parentPath: source });
    const failure = await convertDisk({ source, target }).then(
      () => {
        throw new Error("expected VM_E_IMAGE_SIZE_TOO_LARGE, but the disk was converted");
      },
      (error: unknown) => error as { code: string; parameter: string; path: string; pathParameter: string; message: string },
    );
    expect(failure).toMatchObject({ code: "VM_E_IMAGE_SIZE_TOO_LARGE", parameter: "size", path: target, pathParameter: "target" });
    // The target is named as convert's input, not as the `path` of the base disk it creates.
    expect(failure.message).toContain(`target ${JSON.stringify(target)}`);
    expect(failure.message).toContain("0xA0040683");
    expect(failure.message).toContain("2040 GiB");
    await observed.expectNothingChanged();
  });
});

describe("convertDisk keeps sparseness and data both ways", () => {
  // Data in MiB 0 and MiB 5 of 40 MiB, zeros elsewhere.
  const SIZE = 40 * MIB;
  let raw: Buffer;
  let rawPath: string;
  beforeEach(async () => {
    raw = Buffer.alloc(SIZE);
    randomBytes(MIB).copy(raw, 0);
    randomBytes(MIB).copy(raw, 5 * MIB);
    rawPath = path.join(temp, "source.raw");
    await fsp.writeFile(rawPath, raw);
  });

  it("VHD -> VHDX -> VHD (fixed) -> raw: same bytes in qemu-img, default block sizes as create's, zeros never written", async (ctx) => {
    if (!HAVE.qemuImg) return ctx.skip("qemu-img is not installed");
    const vhd = path.join(temp, "a.vhd");
    const vhdx = path.join(temp, "b.vhdx");
    const fixed = path.join(temp, "c.vhd");
    const back = path.join(temp, "d.raw");
    await createBaseDisk({ path: vhd, fromRaw: rawPath });
    await convertDisk({ source: vhd, target: vhdx });
    await convertDisk({ source: vhdx, target: fixed, type: "fixed" });
    await convertDisk({ source: fixed, target: back });

    const created = { vhd: path.join(temp, "e.vhd"), vhdx: path.join(temp, "e.vhdx") };
    await createBaseDisk({ path: created.vhd, size: SIZE });
    await createBaseDisk({ path: created.vhdx, size: SIZE });
    const info = { vhdx: await inspectDisk(vhdx), created: await inspectDisk(created.vhdx), vhd: await inspectDisk(vhd) };
    expect(info.vhdx.blockSize).toBe(info.created.blockSize);
    expect(info.vhdx.blockSize).toBe(32 * MIB);
    expect(info.vhd.blockSize).toBe((await inspectDisk(created.vhd)).blockSize);
    // 40 MiB in 32 MiB blocks: the first holds data, the second (MiB 32-40) only zeros and stays unallocated.
    expect(info.vhdx.allocatedBlocks).toBe(1);

    for (const [file, format] of [[vhdx, "vhdx"], [fixed, "vpc"]] as const) {
      const out = path.join(temp, `qemu-${format}.raw`);
      await qemuImgConvertToRaw(file, out, format);
      expect((await fsp.readFile(out)).equals(raw)).toBe(true);
    }
    expect((await fsp.readFile(back)).equals(raw)).toBe(true);
    // The fixed VHD is written in 2 MiB pieces, only those holding data (MiB 0-2 and 4-6; a hole elsewhere); the raw
    // image only the 2 MiB of data.
    expect((await fsp.stat(fixed)).blocks * 512).toBeLessThanOrEqual(4 * MIB + 64 * 1024);
    expect((await fsp.stat(back)).blocks * 512).toBeLessThanOrEqual(2 * MIB + 64 * 1024);
    await qemuImgConvertToRaw(vhd, path.join(temp, "qemu-a.raw"));
    expect((await fsp.readFile(path.join(temp, "qemu-a.raw"))).equals(raw)).toBe(true);
  });
});

describe("convertDisk keeps a VHDX's sector sizes", () => {
  /** A 4 KiB-sector VHDX (4096 logical and physical) holding `data` at 1 MiB, made by createBaseDisk. */
  async function fourKiBSource(data: Uint8Array): Promise<string> {
    const source = path.join(temp, "4k.vhdx");
    await createBaseDisk({ path: source, size: 8 * MIB, logicalSectorSize: 4096, physicalSectorSize: 4096 });
    await writeDisk(source, MIB, data);
    return source;
  }

  it("VHDX (4096/4096) -> VHDX keeps 4096 logical and 4096 physical, checked by vhdiinfo and by our reader (qemu-img refuses 4 KiB VHDX)", async (ctx) => {
    if (!HAVE.vhdiinfo) return ctx.skip("vhdiinfo is not installed");
    const data = randomBytes(64 * 1024);
    const source = await fourKiBSource(data);
    const target = path.join(temp, "copy.vhdx");
    await convertDisk({ source, target });
    // vhdiinfo reports the logical sector size only ("Bytes per sector"); the physical one is our reader's reading of
    // the Physical Sector Size item (MS-VHDX §2.6.2.5). qemu-img 7.2 refuses 4 KiB-sector VHDX, so it cannot check.
    expect((await vhdiinfo(target)).fields["Bytes per sector"]).toBe("4096 bytes");
    expect(await inspectDisk(target)).toMatchObject({ format: "vhdx", logicalSectorSize: 4096, physicalSectorSize: 4096 });
    expect((await readThroughChain(target, MIB, data.length)).equals(data)).toBe(true);
    // Asked for, other sizes win over the source's.
    const overridden = path.join(temp, "512.vhdx");
    await convertDisk({ source, target: overridden, logicalSectorSize: 512, physicalSectorSize: 512 });
    expect(await inspectDisk(overridden)).toMatchObject({ logicalSectorSize: 512, physicalSectorSize: 512 });
    expect((await vhdiinfo(overridden)).fields["Bytes per sector"]).toBe("512 bytes");
    expect((await readThroughChain(overridden, MIB, data.length)).equals(data)).toBe(true);
  });

  it("a VHD target has 512-byte sectors: from a 4 KiB VHDX it gets them; 4096 asked for is E_INVALIDARG, no file left", async () => {
    const data = randomBytes(4096);
    const source = await fourKiBSource(data);
    const target = path.join(temp, "from-4k.vhd");
    await convertDisk({ source, target });
    expect(await inspectDisk(target)).toMatchObject({ format: "vhd", logicalSectorSize: 512, physicalSectorSize: 512 });
    expect((await readThroughChain(target, MIB, data.length)).equals(data)).toBe(true);
    const refused = path.join(temp, "refused.vhd");
    const observed = await witness({ folder: temp, imagePath: refused, parentPath: source });
    await expect(convertDisk({ source, target: refused, logicalSectorSize: 4096 })).rejects.toMatchObject({
      code: "E_INVALIDARG",
      parameter: "logicalSectorSize",
      value: 4096,
      message: expect.stringMatching(/a VHD logical sector is 512 bytes, not 4096; .*\.vhdx for 4096-byte sectors/u),
    });
    await observed.expectNothingChanged();
  });
});

describe("convertDisk of a source cut while it is read", () => {
  /**
   * localStorage, but the source is cut to `keep` bytes (a real truncate) just before its first read in `[from, to)`:
   * the data, not the footer at the end that every open reads.
   */
  function cuttingStorage(source: string, from: number, to: number, keep: number): Storage {
    return {
      ...localStorage,
      open: async (file, options) => {
        const opened = await localStorage.open(file, options);
        if (file !== source) return opened;
        let cut = false;
        return wrappedFile(opened, {
          read: async (position, length, target, targetOffset) => {
            if (!cut && position >= from && position < to) {
              cut = true;
              await fsp.truncate(source, keep);
            }
            return opened.read(position, length, target, targetOffset);
          },
        });
      },
    };
  }

  it.each(["raw", "vhdx", "vhd"] as const)("to %s: fails naming the source, never zeros in place of its data; nothing at the target", async (format) => {
    const raw = path.join(temp, "data.raw");
    await fsp.writeFile(raw, randomBytes(8 * MIB));
    const source = path.join(temp, "source.vhd");
    await createBaseDisk({ path: source, fromRaw: raw });
    const target = path.join(temp, `copy.${format}`);
    // Cut once the maps are read and the data is being copied (a VHD's BAT is at its start): half the file gone.
    const { size } = await fsp.stat(source);
    const failure = convertDisk({ source, target, storage: cuttingStorage(source, 4 * MIB, size - MIB, Math.floor(size / 2)) });
    await expect(failure).rejects.toMatchObject({ code: "ERROR_VHD_METADATA_READ_FAILURE", path: source });
    await expect(failure).rejects.toThrow(/cut it while in use/);
    expect((await fsp.readdir(temp)).sort()).toEqual(["data.raw", "source.vhd"]);
  });
});

describe("convertDisk to a raw image in a folder that does not exist", () => {
  it("makes the folders, as for a VHD or VHDX target; a failed convert removes them again", async () => {
    const raw = path.join(temp, "data.raw");
    const data = randomBytes(4 * MIB);
    await fsp.writeFile(raw, data);
    const source = path.join(temp, "source.vhd");
    await createBaseDisk({ path: source, fromRaw: raw });
    const target = path.join(temp, "new", "deeper", "copy.img");
    await convertDisk({ source, target });
    expect((await fsp.readFile(target)).equals(data)).toBe(true);

    // The second fails while writing (the disk is full): nothing left, the folders it made gone, the others kept.
    const failing = path.join(temp, "new", "other", "copy.img");
    const full: Storage = {
      ...localStorage,
      createExclusive: async (file, options) =>
        wrappedFile(await localStorage.createExclusive(file, options), {
          writeGathered: () => Promise.reject(new VhdError("ERROR_DISK_FULL", "no space left", { parameter: "target", path: file })),
        }),
    };
    await expect(convertDisk({ source, target: failing, storage: full })).rejects.toMatchObject({ code: "ERROR_DISK_FULL", path: failing });
    expect((await fsp.readdir(path.join(temp, "new"))).sort()).toEqual(["deeper"]);
  });
});

describe("convertDisk's cache mode (qemu-img convert -t)", () => {
  /** What the target's temporary file saw: its syncs, and the bytes written to it. */
  interface Observed {
    syncs: number;
    written: number;
  }

  /** localStorage, counting the syncs of and writes to every file it creates (the target's temporary file). */
  function countingStorage(observed: Observed): Storage {
    return {
      ...localStorage,
      createExclusive: async (file, options) => {
        const created = await localStorage.createExclusive(file, options);
        return wrappedFile(created, {
          write: async (position, bytes) => {
            observed.written += bytes.length;
            await created.write(position, bytes);
          },
          sync: async () => {
            observed.syncs++;
            await created.sync();
          },
        });
      },
    };
  }

  it.each(["raw", "vhdx", "vhd"] as const)("to %s: writeback syncs the target (in the background every 64 MiB, and before it is published); unsafe never does; same bytes", async (format) => {
    // 72 MiB of data: one early flush at 64 MiB, then the final sync.
    const size = 72 * MIB;
    const raw = path.join(temp, "data.raw");
    const data = randomBytes(size);
    await fsp.writeFile(raw, data);
    const source = path.join(temp, "source.vhd");
    await createBaseDisk({ path: source, fromRaw: raw });
    const seen: Record<"writeback" | "unsafe", Observed> = { writeback: { syncs: 0, written: 0 }, unsafe: { syncs: 0, written: 0 } };
    for (const cache of ["writeback", "unsafe"] as const) {
      const target = path.join(temp, `${cache}.${format}`);
      await convertDisk({ source, target, cache, storage: countingStorage(seen[cache]) });
      const bytes = format === "raw" ? await fsp.readFile(target) : await readThroughChain(target, 0, size);
      expect(bytes.equals(data)).toBe(true);
    }
    expect(seen.writeback.written).toBeGreaterThanOrEqual(size);
    expect(seen.unsafe.written).toBe(seen.writeback.written);
    expect(seen.writeback.syncs).toBe(2);
    expect(seen.unsafe.syncs).toBe(0);
    // Published, and no temporary file left, in either mode.
    expect((await fsp.readdir(temp)).sort()).toEqual(["data.raw", "source.vhd", `unsafe.${format}`, `writeback.${format}`].sort());
  });

  it("a mode qemu-img has and we do not (none, directsync, writethrough), or any other: E_INVALIDARG naming cache, nothing written", async () => {
    const source = path.join(temp, "source.vhdx");
    await createBaseDisk({ path: source, size: 8 * MIB });
    const target = path.join(temp, "copy.vhdx");
    const observed = await witness({ folder: temp, imagePath: target, parentPath: source });
    for (const cache of ["none", "directsync", "writethrough", ""]) {
      const failure = convertDisk({ source, target, cache: cache as "unsafe" });
      await expect(failure).rejects.toMatchObject({ code: "E_INVALIDARG", parameter: "cache", value: cache, path: target });
      await expect(failure).rejects.toThrow(/writeback, unsafe/);
    }
    await observed.expectNothingChanged();
  });
});

describe("convertDisk's refusals name what they are about", () => {
  it("a raw target of a raw source: E_INVALIDARG naming format raw and the source, not the source as the format's value", async () => {
    const source = path.join(temp, "data.raw");
    await fsp.writeFile(source, randomBytes(MIB));
    const target = path.join(temp, "copy.img");
    const failure = convertDisk({ source, target });
    await expect(failure).rejects.toMatchObject({ code: "E_INVALIDARG", parameter: "format", value: "raw", path: source, pathParameter: "source" });
    await expect(failure).rejects.toThrow(/format "raw", source "[^"]*data\.raw"/);
    expect(await fsp.readdir(temp)).toEqual(["data.raw"]);
  });

  it("a raw target on a read-only volume: ERROR_INVALID_DRIVE before anything is made, as for a disk target (not the folder's EROFS)", async () => {
    const source = path.join(temp, "source.vhd");
    await createBaseDisk({ path: source, size: 4 * MIB });
    const readOnly: Storage = {
      ...localStorage,
      volumeFacts: async (folder, options) => ({ ...(await localStorage.volumeFacts(folder, options)), readOnly: true }),
    };
    for (const target of [path.join(temp, "copy.img"), path.join(temp, "new", "copy.img")]) {
      const failure = convertDisk({ source, target, storage: readOnly });
      await expect(failure).rejects.toMatchObject({ code: "ERROR_INVALID_DRIVE", parameter: "target", path: target });
      await expect(failure).rejects.toThrow(/read-only; choose a writable one/);
    }
    expect(await fsp.readdir(temp)).toEqual(["source.vhd"]);
  });
});

describe("convertDisk to a path under a file", () => {
  it.each(["copy.img", "copy.vhd", "copy.vhdx"])("%s under a file: ERROR_PATH_NOT_FOUND saying a folder of the path is a file, not that the target exists", async (name) => {
    const source = path.join(temp, "source.vhd");
    await createBaseDisk({ path: source, size: 4 * MIB });
    const target = path.join(source, name);
    const failure = convertDisk({ source, target });
    await expect(failure).rejects.toMatchObject({ code: "ERROR_PATH_NOT_FOUND", parameter: "target", path: target });
    await expect(failure).rejects.toThrow(/a folder of the path is a file/);
    expect(await fsp.readdir(temp)).toEqual(["source.vhd"]);
  });
});

describe("convertDisk of a source too small for a disk target", () => {
  it.each(["vhd", "vhdx"])("to %s: an empty or sub-3 MB raw source is refused naming the source, with advice convert can follow (no size to choose)", async (format) => {
    for (const [name, bytes, code] of [
      ["empty.raw", 0, "ERROR_VHD_INVALID_SIZE"],
      ["tiny.raw", 1000, "VM_E_IMAGE_SIZE_TOO_SMALL"],
    ] as const) {
      const source = path.join(temp, name);
      await fsp.writeFile(source, randomBytes(bytes));
      const target = path.join(temp, `copy.${format}`);
      const failure = convertDisk({ source, target });
      await expect(failure).rejects.toMatchObject({ code, parameter: "source", path: source });
      await expect(failure).rejects.toThrow(/raw image, or pad it first \(truncate -s 3M\)/);
      await expect(failure).rejects.not.toThrow(/choose a larger size|round it up/);
      await fsp.rm(source);
    }
    expect(await fsp.readdir(temp)).toEqual([]);
  });
});
