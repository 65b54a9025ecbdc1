/**
 * createBaseDisk on real files: an image from a raw source read back identically by qemu-img, and its failures (a
 * missing raw source, sizes out of the table's range, a cancel in the middle of the copy, an unexpected error during
 * the write), each leaving no file, no temporary file and no folder of ours.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ErrorName } from "../../provider/errors";
import { createBaseDisk, type CreateBaseDiskArgs } from "../../provider/ops/create-base";
import { qemuImgConvertToRaw, vhdiinfo } from "../support/oracles";
import { HAVE } from "../vhdx/support";
import { makeTemp, removeTemp, snapshotFile, witness } from "../inputs/fixtures";

const MIB = 1024 * 1024;

let temp: string;
let rawPath: string;

beforeEach(async () => {
  temp = await makeTemp("ops-base");
  rawPath = path.join(temp, "source.img");
  // 24 MiB: random data, a zero gap, random data again (so the dynamic disk is sparse where the source is zero).
  await fsp.writeFile(rawPath, Buffer.concat([randomBytes(8 * MIB), Buffer.alloc(8 * MIB), randomBytes(8 * MIB)]));
});

afterEach(async () => {
  await removeTemp(temp);
});

async function expectFailedCreate(args: CreateBaseDiskArgs, code: ErrorName, parameter: string): Promise<{ cause?: unknown }> {
  const target = args.path ?? path.join(temp, "base.vhd");
  const observed = await witness({ folder: temp, imagePath: target, parentPath: rawPath });
  const error = await createBaseDisk(args).then(
    () => {
      throw new Error(`expected ${code}, but the disk was created`);
    },
    (failure: unknown) => failure as { code: string; parameter?: string; cause?: unknown },
  );
  expect({ code: error.code, parameter: error.parameter }).toEqual({ code, parameter });
  await observed.expectNothingChanged();
  return error;
}

describe("createBaseDisk", () => {
  it("makes a dynamic disk from a raw image, in a new folder chain, that qemu-img reads back byte for byte", async () => {
    const target = path.join(temp, "golden", "2026", "base.vhd");
    const progress: { bytesDone: number; bytesTotal: number }[] = [];
    const info = await createBaseDisk({ path: target, fromRaw: rawPath, onProgress: (report) => progress.push(report) });
    expect(info).toMatchObject({ path: target, type: "dynamic", virtualSize: 24 * MIB, allocatedBlocks: 8 });
    expect(progress[0]?.bytesDone).toBe(0);
    expect(progress.at(-1)).toEqual({ bytesDone: info.fileSize, bytesTotal: info.fileSize });
    const roundTrip = path.join(temp, "round-trip.raw");
    await qemuImgConvertToRaw(target, roundTrip);
    expect((await snapshotFile(roundTrip)).sha256).toBe((await snapshotFile(rawPath)).sha256);
    expect(await fsp.readdir(path.dirname(target))).toEqual(["base.vhd"]);
  });

  it.each(["vhd", "vhdx"])("rounds a raw image that is not a whole number of sectors up to one (.%s), and says so", async (extension) => {
    const odd = path.join(temp, "odd.img");
    const bytes = randomBytes(4 * MIB + 100);
    await fsp.writeFile(odd, bytes);
    const target = path.join(temp, `odd.${extension}`);
    const info = await createBaseDisk({ path: target, fromRaw: odd });
    expect(info.virtualSize).toBe(4 * MIB + 512);
    expect(info.notes).toContainEqual(expect.stringMatching(/4194404 bytes are not a whole number of 512-byte sectors: the disk is rounded up to 4194816 bytes/));
    const roundTrip = path.join(temp, "odd-round-trip.raw");
    await qemuImgConvertToRaw(target, roundTrip, extension === "vhd" ? "vpc" : "vhdx");
    expect((await fsp.readFile(roundTrip)).equals(Buffer.concat([bytes, Buffer.alloc(412)]))).toBe(true);
    // A size given explicitly is the caller's: no note.
    const sized = await createBaseDisk({ path: path.join(temp, `sized.${extension}`), fromRaw: odd, size: 8 * MIB });
    expect(sized.notes).toEqual([]);
  });

  it("makes a VHDX with the sector sizes asked for (4096 logical, 512 physical), a raw image rounded up to 4 KiB; vhdiinfo agrees", async (ctx) => {
    if (!HAVE.vhdiinfo) return ctx.skip("vhdiinfo is not installed");
    const odd = path.join(temp, "odd.img");
    const bytes = randomBytes(4 * MIB + 100);
    await fsp.writeFile(odd, bytes);
    const target = path.join(temp, "4k.vhdx");
    const info = await createBaseDisk({ path: target, fromRaw: odd, logicalSectorSize: 4096, physicalSectorSize: 512 });
    expect(info).toMatchObject({ virtualSize: 4 * MIB + 4096, logicalSectorSize: 4096, physicalSectorSize: 512 });
    expect(info.notes).toContainEqual(expect.stringMatching(/not a whole number of 4096-byte sectors: the disk is rounded up to 4198400 bytes/u));
    // vhdiinfo prints the logical sector size only; qemu-img 7.2 refuses 4 KiB-sector VHDX, so the physical size is
    // our reader's reading of its metadata item (above).
    expect(await vhdiinfo(target)).toMatchObject({ mediaSize: 4 * MIB + 4096, fields: expect.objectContaining({ "Bytes per sector": "4096 bytes" }) });
    // Defaults: New-VHD's 512 logical, 4096 physical.
    expect(await createBaseDisk({ path: path.join(temp, "default.vhdx"), size: 4 * MIB })).toMatchObject({ logicalSectorSize: 512, physicalSectorSize: 4096 });
  });

  it("refuses sector sizes a format does not have: 4096 for a VHD, 1024 for a VHDX (E_INVALIDARG), a size off the 4 KiB sector", async () => {
    const vhd = path.join(temp, "base.vhd");
    await expectFailedCreate({ path: vhd, size: 4 * MIB, logicalSectorSize: 4096 }, "E_INVALIDARG", "logicalSectorSize");
    await expectFailedCreate({ path: vhd, size: 4 * MIB, physicalSectorSize: 4096 }, "E_INVALIDARG", "physicalSectorSize");
    const vhdx = path.join(temp, "base.vhdx");
    await expectFailedCreate({ path: vhdx, size: 4 * MIB, physicalSectorSize: 1024 }, "E_INVALIDARG", "physicalSectorSize");
    await expectFailedCreate({ path: vhdx, size: 4 * MIB + 512, logicalSectorSize: 4096 }, "ERROR_VHD_INVALID_SIZE", "size");
  });

  it("refuses a missing raw source: ERROR_PATH_NOT_FOUND, parameter fromRaw", async () => {
    await expectFailedCreate({ path: path.join(temp, "base.vhd"), fromRaw: path.join(temp, "absent.img") }, "ERROR_PATH_NOT_FOUND", "fromRaw");
  });

  it("refuses sizes outside the table: below 3 MB, above 2040 GiB", async () => {
    await expectFailedCreate({ path: path.join(temp, "base.vhd"), size: 2 * MIB }, "VM_E_IMAGE_SIZE_TOO_SMALL", "size");
    await expectFailedCreate({ path: path.join(temp, "base.vhd"), size: 2041 * 1024 * MIB }, "VM_E_IMAGE_SIZE_TOO_LARGE", "size");
  });

  it("cancelled in the middle of the copy: VM_E_APP_SHUTTING_DOWN, no temporary file, folders removed", async () => {
    const controller = new AbortController();
    const target = path.join(temp, "new", "base.vhd");
    const seen: number[] = [];
    await expectFailedCreate(
      {
        path: target,
        fromRaw: rawPath,
        type: "fixed",
        signal: controller.signal,
        onProgress: ({ bytesDone }) => {
          seen.push(bytesDone);
          if (bytesDone > 0) controller.abort();
        },
      },
      "VM_E_APP_SHUTTING_DOWN",
      "path",
    );
    // The cancel came from inside the copy (a report with bytes already copied), not before it.
    expect(seen.some((bytes) => bytes > 0)).toBe(true);
  });

  it("an unexpected error inside the write: DISP_E_EXCEPTION with its cause, nothing left", async () => {
    const cause = new TypeError("progress bar went away");
    const error = await expectFailedCreate(
      {
        path: path.join(temp, "made", "base.vhd"),
        fromRaw: rawPath,
        onProgress: ({ bytesDone }) => {
          if (bytesDone > 0) throw cause;
        },
      },
      "DISP_E_EXCEPTION",
      "path",
    );
    expect(error.cause).toBe(cause);
  });
});
