/**
 * validateCreateDifferencing and validateCreateBase on real files: one case per row of the contract's error table
 * (docs/contract.md) and its edge cases, each asserting the name, the HRESULT and the parameter, and that nothing changed:
 * no file at the image path, no entry added to the folder, the parent's bytes and mtime the same.
 */
import { execFileSync } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ERROR_TABLE, formatHresult, type ErrorName } from "../../provider/errors";
import {
  MIN_FREE_BYTES,
  validateCreateBase,
  validateCreateDifferencing,
  type BaseRequest,
  type DifferencingRequest,
  type ValidationOptions,
} from "../../provider/inputs/validate";
import { localStorage } from "../../provider/storage/local/local-storage";
import { DEFAULT_BLOCK_SIZE, FOOTER_SIZE, decodeFooter, encodeFooter } from "../../provider/vhd/format";
import { LOG_SECTOR_SIZE, REGION_GUIDS } from "../../provider/vhdx/format";
import { writeLogEntry } from "../../provider/vhdx/log-writer";
import { openVhdx } from "../../provider/vhdx/reader";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../support/fixtures";
import { HAVE } from "../vhdx/support";
import {
  cleanUpTest,
  copyFixture,
  skipMountRefused,
  makeGoldenParent,
  mountReadOnlyBind,
  mountTmpfs,
  qemuDynamicDisk,
  witness,
  type TestMount,
} from "./fixtures";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

let temp: string;
let parentPath: string;
const mounts: TestMount[] = [];

beforeEach(async (ctx) => {
  skipWithoutFixtures(ctx, DFVFS_FIXTURES);
  ({ temp, parentPath } = await makeGoldenParent("validate"));
});
afterEach(() => cleanUpTest(temp, mounts));

/** Rejects with a VhdError of `code` (name and HRESULT) and `parameter`; returns the error for further checks. */
async function expectRefusal(promise: Promise<unknown>, code: ErrorName, parameter: string) {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but validation passed`);
    },
    (refusal: unknown) => refusal as { code: string; hresultHex: string; parameter?: string; path?: string; message: string },
  );
  expect({ code: error.code, hresult: error.hresultHex, parameter: error.parameter }).toEqual({
    code,
    hresult: formatHresult(ERROR_TABLE[code].hresult),
    parameter,
  });
  expect(error.message).toContain(`${code} (${formatHresult(ERROR_TABLE[code].hresult)})`);
  return error;
}

/**
 * A VHD whose footer claims `virtualSize` (both copies rewritten, checksums valid), made from the dfvfs sample: no
 * producer writes a disk above 2040 GiB, so the only way to get one is to edit the footer.
 */
async function parentClaimingSize(virtualSize: number): Promise<string> {
  const file = await copyFixture("image.vhd", path.join(temp, "golden"), "huge.vhd");
  const bytes = await fsp.readFile(file);
  const { footer } = decodeFooter(bytes.subarray(bytes.length - FOOTER_SIZE));
  const patched = encodeFooter({ ...footer, currentSize: virtualSize, originalSize: virtualSize });
  bytes.set(patched, 0);
  bytes.set(patched, bytes.length - FOOTER_SIZE);
  await fsp.writeFile(file, bytes);
  return file;
}

/** A dynamic VHD of exactly `gib` GiB, made by qemu-img. */
function qemuParent(gib: number): string {
  return qemuDynamicDisk(path.join(temp, "golden", `qemu-${gib}g.vhd`), `${gib}G`);
}

interface DifferencingCase {
  title: string;
  /** Builds the request (and any files it needs) in the test's temp folder. */
  request: () => Promise<DifferencingRequest> | DifferencingRequest;
  options?: ValidationOptions;
  code: ErrorName;
  parameter: string;
  /** What the sentence must say (the reason), for the parent checks. */
  says?: RegExp;
}

const child = () => path.join(temp, "child.vhd");

const differencingCases: DifferencingCase[] = [
  // E_POINTER
  { title: "imagePath undefined", request: () => ({ parentPath }), code: "E_POINTER", parameter: "imagePath" },
  { title: "parentPath empty beside an absolute imagePath", request: () => ({ imagePath: child(), parentPath: "" }), code: "E_POINTER", parameter: "parentPath" },
  // ERROR_BAD_PATHNAME
  { title: "both relative", request: () => ({ imagePath: "child.vhd", parentPath: "golden/parent.vhd" }), code: "ERROR_BAD_PATHNAME", parameter: "imagePath" },
  { title: "both empty", request: () => ({ imagePath: "", parentPath: "" }), code: "ERROR_BAD_PATHNAME", parameter: "imagePath" },
  // ERROR_INVALID_NAME
  { title: "a * in imagePath", request: () => ({ imagePath: path.join(temp, "a*b.vhd"), parentPath }), code: "ERROR_INVALID_NAME", parameter: "imagePath" },
  { title: "a control character in imagePath", request: () => ({ imagePath: path.join(temp, "a\u0007.vhd"), parentPath }), code: "ERROR_INVALID_NAME", parameter: "imagePath" },
  { title: "reserved name NUL.vhd", request: () => ({ imagePath: path.join(temp, "NUL.vhd"), parentPath }), code: "ERROR_INVALID_NAME", parameter: "imagePath" },
  { title: "reserved name as parent folder", request: () => ({ imagePath: child(), parentPath: path.join(temp, "com1", "p.vhd") }), code: "ERROR_INVALID_NAME", parameter: "parentPath" },
  // ERROR_BUFFER_OVERFLOW
  {
    title: "imagePath of 260 characters",
    request: () => ({ imagePath: pathOfLength(260), parentPath }),
    code: "ERROR_BUFFER_OVERFLOW",
    parameter: "imagePath",
  },
  // ERROR_PATH_NOT_FOUND
  { title: "parent missing", request: () => ({ imagePath: child(), parentPath: path.join(temp, "golden", "absent.vhd") }), code: "ERROR_PATH_NOT_FOUND", parameter: "parentPath" },
  { title: "parent is a folder", request: () => ({ imagePath: child(), parentPath: path.join(temp, "golden") }), code: "ERROR_PATH_NOT_FOUND", parameter: "parentPath" },
  { title: "parent behind a file", request: () => ({ imagePath: child(), parentPath: path.join(parentPath, "p.vhd") }), code: "ERROR_PATH_NOT_FOUND", parameter: "parentPath" },
  {
    title: "parent is a dangling symbolic link",
    request: async () => {
      await fsp.symlink(path.join(temp, "gone.vhd"), path.join(temp, "golden", "link.vhd"));
      return { imagePath: child(), parentPath: path.join(temp, "golden", "link.vhd") };
    },
    code: "ERROR_PATH_NOT_FOUND",
    parameter: "parentPath",
  },
  { title: "imagePath through a file", request: () => ({ imagePath: path.join(parentPath, "x.vhd"), parentPath }), code: "ERROR_PATH_NOT_FOUND", parameter: "imagePath" },
  { title: "imagePath through /etc/passwd", request: () => ({ imagePath: "/etc/passwd/x.vhd", parentPath }), code: "ERROR_PATH_NOT_FOUND", parameter: "imagePath" },
  { title: "imagePath's folder chain through a file", request: () => ({ imagePath: path.join(parentPath, "a", "b", "x.vhd"), parentPath }), code: "ERROR_PATH_NOT_FOUND", parameter: "imagePath" },
  {
    title: "imagePath's folder is a broken symbolic link",
    request: async () => {
      await fsp.symlink(path.join(temp, "nowhere"), path.join(temp, "broken"));
      return { imagePath: path.join(temp, "broken", "x.vhd"), parentPath };
    },
    code: "ERROR_PATH_NOT_FOUND",
    parameter: "imagePath",
  },
  // ERROR_ALREADY_EXISTS
  {
    title: "imagePath exists",
    request: async () => {
      await fsp.writeFile(child(), "someone else's");
      return { imagePath: child(), parentPath };
    },
    code: "ERROR_ALREADY_EXISTS",
    parameter: "imagePath",
  },
  {
    title: "a dangling symbolic link at imagePath",
    request: async () => {
      await fsp.symlink(path.join(temp, "nowhere.vhd"), child());
      return { imagePath: child(), parentPath };
    },
    code: "ERROR_ALREADY_EXISTS",
    parameter: "imagePath",
  },
  {
    title: "a symbolic link to the parent at imagePath",
    request: async () => {
      await fsp.symlink(parentPath, child());
      return { imagePath: child(), parentPath };
    },
    code: "ERROR_ALREADY_EXISTS",
    parameter: "imagePath",
  },
  { title: "imagePath is the parent", request: () => ({ imagePath: "parent.vhd", parentPath }), code: "ERROR_ALREADY_EXISTS", parameter: "imagePath" },
  { title: "imagePath is a folder", request: () => ({ imagePath: path.join(temp, "golden"), parentPath }), code: "ERROR_ALREADY_EXISTS", parameter: "imagePath" },
  // The parent must be a readable, valid VHD with a resolvable chain.
  {
    title: "parent is a raw file",
    request: async () => {
      await fsp.writeFile(path.join(temp, "golden", "raw.img"), Buffer.alloc(MIB));
      return { imagePath: child(), parentPath: path.join(temp, "golden", "raw.img") };
    },
    code: "ERROR_VHD_FORMAT_UNKNOWN",
    parameter: "parentPath",
    says: /cannot serve as a parent: .*not a VHD \(a raw image\?\)/u,
  },
  {
    title: "a .vhd child of a VHDX parent (a chain never mixes formats)",
    request: () => {
      const vhdx = path.join(temp, "golden", "disk.vhdx");
      execFileSync("qemu-img", ["create", "-q", "-f", "vhdx", vhdx, "8M"]);
      return { imagePath: child(), parentPath: vhdx };
    },
    code: "ERROR_VHD_INVALID_TYPE",
    parameter: "parentPath",
    says: /parentPath is a VHDX disk but imagePath names a VHD file/u,
  },
  {
    title: "parent whose own parent is missing (Windows-made fat-differential.vhd)",
    request: async () => ({ imagePath: child(), parentPath: await copyFixture("fat-differential.vhd", path.join(temp, "golden")) }),
    code: "ERROR_VHD_PARENT_VHD_NOT_FOUND",
    parameter: "parentPath",
    says: /fat-parent\.vhd.*5fa21a55-f394-aa4d-9958-1951a67d5540.*not found/u,
  },
  // VM_E_IMAGE_SIZE_TOO_LARGE
  {
    title: "parent above 2040 GiB",
    request: async () => ({ imagePath: child(), parentPath: await parentClaimingSize(2041 * GIB) }),
    code: "VM_E_IMAGE_SIZE_TOO_LARGE",
    parameter: "parentPath",
  },
  // VM_E_FILE_TOO_LARGE_FOR_VOLUME (a parent of 4 GiB: the child's full expansion passes FAT32's 4 GiB - 1)
  {
    title: "a 4 GiB parent on an (injected) FAT32 volume",
    request: () => ({ imagePath: child(), parentPath: qemuParent(4) }),
    options: { assumeFsType: "fat32" },
    code: "VM_E_FILE_TOO_LARGE_FOR_VOLUME",
    parameter: "imagePath",
  },
  {
    title: "a 2 GiB parent on an (injected) FAT16 volume",
    request: () => ({ imagePath: child(), parentPath: qemuParent(2) }),
    options: { assumeFsType: "fat16" },
    code: "VM_E_FILE_TOO_LARGE_FOR_VOLUME",
    parameter: "imagePath",
  },
  // Block size
  { title: "block size of 3 MiB", request: () => ({ imagePath: child(), parentPath, blockSize: 3 * MIB }), code: "ERROR_VHD_INVALID_BLOCK_SIZE", parameter: "blockSize" },
];

/** An absolute path under the temp folder of exactly `length` characters (components short enough for ext4). */
function pathOfLength(length: number): string {
  const name = "child.vhd";
  const base = path.join(temp, "long");
  let folder = base;
  while (folder.length + 1 + name.length < length) {
    const room = length - folder.length - 1 - name.length - 1;
    folder = path.join(folder, "d".repeat(Math.min(100, Math.max(room, 1))));
  }
  const result = path.join(folder, name);
  expect(result).toHaveLength(length);
  return result;
}

describe("validateCreateDifferencing refuses, with nothing changed", () => {
  it.each(differencingCases)("$title -> $code", async ({ request, options, code, parameter, says }) => {
    const built = await request();
    const imagePath = built.imagePath && path.isAbsolute(built.imagePath) ? built.imagePath : child();
    const observed = await witness({ folder: temp, imagePath, parentPath });
    const error = await expectRefusal(validateCreateDifferencing(built, options), code, parameter);
    if (says !== undefined) expect(error.message).toMatch(says);
    await observed.expectNothingChanged();
  });
});

describe("validateCreateDifferencing accepts", () => {
  it("a relative image beside an absolute parent, resolved against the parent's folder", async () => {
    const result = await validateCreateDifferencing({ imagePath: "../kids/a/child.vhd", parentPath });
    expect(result.imagePath).toBe(path.join(temp, "kids", "a", "child.vhd"));
    expect(result.parentPath).toBe(parentPath);
    expect(result.missingFolders).toEqual([path.join(temp, "kids"), path.join(temp, "kids", "a")]);
    expect(result.parent.virtualSize).toBe(104448);
    expect(result.blockSize).toBe(DEFAULT_BLOCK_SIZE);
    await expect(fsp.stat(path.join(temp, "kids"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a relative parent beside an absolute image, resolved against the image's folder", async () => {
    const result = await validateCreateDifferencing({ imagePath: path.join(temp, "vms", "c.vhd"), parentPath: "../golden/parent.vhd" });
    expect(result.parentPath).toBe(parentPath);
    expect(result.missingFolders).toEqual([path.join(temp, "vms")]);
  });

  it("an imagePath of exactly 259 characters", async () => {
    const imagePath = pathOfLength(259);
    expect((await validateCreateDifferencing({ imagePath, parentPath })).imagePath).toBe(imagePath);
  });

  it("a differencing parent whose chain resolves (dfvfs image-differential.vhd -> image.vhd)", async () => {
    await copyFixture("image.vhd", path.join(temp, "golden"));
    const middle = await copyFixture("image-differential.vhd", path.join(temp, "golden"));
    const result = await validateCreateDifferencing({ imagePath: child(), parentPath: middle });
    expect(result.parent.type).toBe("differencing");
    expect(result.parent.chain.map((entry) => entry.path)).toEqual([path.join(temp, "golden", "image.vhd")]);
  });

  it("a parent of exactly 2040 GiB, and a FAT32 volume for a child whose expansion stays below 4 GiB", async () => {
    const huge = qemuParent(2040);
    expect((await validateCreateDifferencing({ imagePath: child(), parentPath: huge })).parent.virtualSize).toBe(2040 * GIB);
    const small = await validateCreateDifferencing({ imagePath: child(), parentPath }, { assumeFsType: "fat32" });
    expect(small.volume.maxFileSize).toBe(4 * GIB - 1);
    expect(small.fullyExpandedSize).toBeLessThan(4 * GIB);
  });

  it("Windows-only names with pathRules posix", async () => {
    const imagePath = path.join(temp, "CON:1.vhd");
    expect((await validateCreateDifferencing({ imagePath, parentPath }, { pathRules: "posix" })).imagePath).toBe(imagePath);
  });
});

describe("real volume faults", () => {
  it("ERROR_DISK_FULL on a 6 MB tmpfs (less than 8 MB free)", async (context) => {
    const small = await mountTmpfs(temp, 6 * MIB);
    if (small === undefined) return skipMountRefused(context);
    mounts.push(small);
    const imagePath = path.join(small.path, "sub", "child.vhd");
    const observed = await witness({ folder: small.path, imagePath, parentPath });
    const error = await expectRefusal(validateCreateDifferencing({ imagePath, parentPath }), "ERROR_DISK_FULL", "imagePath");
    expect(error.path).toBe(imagePath);
    await observed.expectNothingChanged();
  });

  it("ERROR_DISK_FULL on a tmpfs filled to below 8 MB free, and passing once space is freed", async (context) => {
    const volume = await mountTmpfs(temp, 16 * MIB);
    if (volume === undefined) return skipMountRefused(context);
    mounts.push(volume);
    const filler = path.join(volume.path, "filler");
    await fsp.writeFile(filler, Buffer.alloc(16 * MIB - MIN_FREE_BYTES + MIB));
    const imagePath = path.join(volume.path, "child.vhd");
    await expectRefusal(validateCreateDifferencing({ imagePath, parentPath }), "ERROR_DISK_FULL", "imagePath");
    await fsp.unlink(filler);
    expect((await validateCreateDifferencing({ imagePath, parentPath })).volume.fsType).toBe("tmpfs");
  });

  it("ERROR_INVALID_DRIVE on a read-only bind mount and on a read-only tmpfs", async (context) => {
    const view = await mountReadOnlyBind(temp, path.join(temp, "golden"));
    if (view === undefined) return skipMountRefused(context);
    mounts.push(view);
    // The parent itself, seen through the read-only view: reading it is fine, writing beside it is not.
    const viaView = path.join(view.path, "parent.vhd");
    const imagePath = path.join(view.path, "child.vhd");
    const observed = await witness({ folder: view.path, imagePath, parentPath: viaView });
    await expectRefusal(validateCreateDifferencing({ imagePath, parentPath: viaView }), "ERROR_INVALID_DRIVE", "imagePath");
    await observed.expectNothingChanged();

    const readOnly = await mountTmpfs(temp, 16 * MIB, { readOnly: true });
    if (readOnly === undefined) throw new Error("a bind mount worked but a read-only tmpfs did not");
    mounts.push(readOnly);
    await expectRefusal(
      validateCreateDifferencing({ imagePath: path.join(readOnly.path, "a", "child.vhd"), parentPath }),
      "ERROR_INVALID_DRIVE",
      "imagePath",
    );
  });
});

interface BaseCase {
  title: string;
  request: () => BaseRequest;
  options?: ValidationOptions;
  code: ErrorName;
  parameter: string;
}

const base = () => path.join(temp, "base.vhd");

const baseCases: BaseCase[] = [
  { title: "path missing", request: () => ({ size: 8 * MIB }), code: "E_POINTER", parameter: "path" },
  { title: "size missing, no raw source", request: () => ({ path: base() }), code: "E_POINTER", parameter: "size" },
  { title: "relative path", request: () => ({ path: "base.vhd", size: 8 * MIB }), code: "ERROR_BAD_PATHNAME", parameter: "path" },
  { title: "fromRaw missing", request: () => ({ path: base(), fromRaw: path.join(temp, "absent.img") }), code: "ERROR_PATH_NOT_FOUND", parameter: "fromRaw" },
  { title: "below 3 MB", request: () => ({ path: base(), size: 3 * MIB - 512 }), code: "VM_E_IMAGE_SIZE_TOO_SMALL", parameter: "size" },
  { title: "FAT32 below 514 MB", request: () => ({ path: base(), size: 513 * MIB, intendedFormat: "fat32" }), code: "VM_E_IMAGE_SIZE_TOO_SMALL", parameter: "size" },
  { title: "FAT16 at 2000 MB", request: () => ({ path: base(), size: 2000 * MIB, intendedFormat: "fat16" }), code: "VM_E_IMAGE_SIZE_TOO_LARGE", parameter: "size" },
  { title: "above 2040 GiB", request: () => ({ path: base(), size: 2040 * GIB + 512 }), code: "VM_E_IMAGE_SIZE_TOO_LARGE", parameter: "size" },
  { title: "not a whole sector", request: () => ({ path: base(), size: 8 * MIB + 1 }), code: "ERROR_VHD_INVALID_SIZE", parameter: "size" },
  { title: "bad type", request: () => ({ path: base(), size: 8 * MIB, type: "sparse" as "fixed" }), code: "E_INVALIDARG", parameter: "type" },
  { title: "5 GiB dynamic on an (injected) FAT32 volume", request: () => ({ path: base(), size: 5 * GIB }), options: { assumeFsType: "fat32" }, code: "VM_E_FILE_TOO_LARGE_FOR_VOLUME", parameter: "path" },
  { title: "2 GiB fixed on an (injected) FAT16 volume", request: () => ({ path: base(), size: 2 * GIB, type: "fixed" }), options: { assumeFsType: "fat16" }, code: "VM_E_FILE_TOO_LARGE_FOR_VOLUME", parameter: "path" },
];

describe("validateCreateBase refuses, with nothing changed", () => {
  it.each(baseCases)("$title -> $code", async ({ request, options, code, parameter }) => {
    const observed = await witness({ folder: temp, imagePath: base(), parentPath });
    await expectRefusal(validateCreateBase(request(), options), code, parameter);
    await observed.expectNothingChanged();
  });

  it("ERROR_DISK_FULL for a fixed disk larger than the volume's free space", async () => {
    const { bavail, bsize } = await fsp.statfs(temp);
    const size = Math.ceil((bavail * bsize + GIB) / 512) * 512;
    if (size > 2040 * GIB) throw new Error("this volume has more free space than any VHD can take; cannot run this case");
    const observed = await witness({ folder: temp, imagePath: base(), parentPath });
    await expectRefusal(validateCreateBase({ path: base(), size, type: "fixed" }), "ERROR_DISK_FULL", "path");
    await observed.expectNothingChanged();
  });

  it("accepts 3 MB exactly, FAT16 just below 2000 MB, and takes a raw source's size rounded up to a sector", async () => {
    expect((await validateCreateBase({ path: base(), size: 3 * MIB })).size).toBe(3 * MIB);
    expect((await validateCreateBase({ path: base(), size: 2000 * MIB - 512, intendedFormat: "fat16" })).type).toBe("dynamic");
    const raw = path.join(temp, "disk.img");
    await fsp.writeFile(raw, Buffer.alloc(4 * MIB + 100));
    const fromRaw = await validateCreateBase({ path: base(), fromRaw: raw });
    expect(fromRaw.size).toBe(4 * MIB + 512);
    expect(fromRaw.fromRaw).toBe(raw);
    await expectRefusal(validateCreateBase({ path: base(), fromRaw: raw, size: 4 * MIB }), "ERROR_VHD_INVALID_SIZE", "size");
  });
});

describe("a VHDX parent with a live log", () => {
  /**
   * A qemu-made VHDX whose headers name a log entry not yet applied, as a writer that crashed leaves it: the entry
   * rewrites the first BAT sector with the bytes it holds, DataWriteGuid unchanged (MS-VHDX §2.3).
   */
  async function loggedParent(name: string): Promise<string> {
    const file = path.join(temp, "golden", name);
    execFileSync("qemu-img", ["create", "-q", "-f", "vhdx", file, "8M"]);
    const opened = await localStorage.open(file, { writable: true });
    try {
      const image = await openVhdx(opened);
      const bat = image.regions.find((region) => region.guid === REGION_GUIDS.bat)?.fileOffset ?? 0;
      await writeLogEntry(opened, { header: image.header, slot: image.headerSlot }, [{ fileOffset: bat, data: await opened.read(bat, LOG_SECTOR_SIZE) }]);
    } finally {
      await opened.close();
    }
    return file;
  }

  it("is refused as ERROR_VHD_DIFFERENCING_CHAIN_ERROR_IN_PARENT naming it and the replay, its bytes unchanged", async (ctx) => {
    if (!HAVE.qemuImg) return ctx.skip("qemu-img is not installed: it makes the VHDX parent");
    const logged = await loggedParent("logged.vhdx");
    const before = await fsp.readFile(logged);
    const imagePath = path.join(temp, "child.vhdx");
    const error = await expectRefusal(validateCreateDifferencing({ imagePath, parentPath: logged }), "ERROR_VHD_DIFFERENCING_CHAIN_ERROR_IN_PARENT", "parentPath");
    expect(error.path).toBe(logged);
    expect(error.message).toMatch(/cannot serve as a parent: it has a live log .*new DataWriteGuid.*qemu-img check -r all/u);
    expect(error.message).toContain(logged);
    expect((await fsp.readFile(logged)).equals(before)).toBe(true);
    await expect(fsp.stat(imagePath)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
