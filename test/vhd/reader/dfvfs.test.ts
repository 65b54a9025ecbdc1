import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { isVhdError } from "../../../provider/errors";
import { openChain } from "../../../provider/disk/chain";
import { inspectDisk } from "../../../provider/disk/inspect";
import { verifyDisk } from "../../../provider/vhd/verify";
import { pyvhdiReadChain, qemuImgConvertToRaw, vhdiinfo } from "../../support/oracles";
import { useTempDir } from "./temp-dir";
import { writeVhd } from "./vhd-builder";
import { DFVFS_FIXTURES, fixturesMissing, skipWithoutFixtures } from "../../support/fixtures";

const FIXTURES = DFVFS_FIXTURES;
const SAMPLES = ["ext2.vhd", "image.vhd", "image-differential.vhd", "fat-differential.vhd"];
const temp = useTempDir("dfvfs");
const sample = (name: string): string => join(temp.path(), name);

beforeAll(async () => {
  if (fixturesMissing(FIXTURES)) return;
  for (const name of SAMPLES) await copyFile(join(FIXTURES, name), sample(name));
});
beforeEach((ctx) => skipWithoutFixtures(ctx, FIXTURES));

async function readWhole(path: string): Promise<Buffer> {
  const chain = await openChain(path);
  try {
    return Buffer.from(await chain.read(0, chain.virtualSize));
  } finally {
    await chain.close();
  }
}

describe("the dfvfs samples", () => {
  test.each([
    ["ext2.vhd", "dynamic", 4212736, "qemu"],
    ["image.vhd", "dynamic", 104448, "qemu"],
    ["image-differential.vhd", "differencing", 104448, "qemu"],
    ["fat-differential.vhd", "differencing", 4194304, "win "],
  ])("inspect reads %s: type, size, creator, and the id vhdiinfo prints", async (name, type, size, creator) => {
    const info = await inspectDisk(sample(name));
    const oracle = await vhdiinfo(sample(name));
    expect(info.type).toBe(type);
    expect(info.virtualSize).toBe(size);
    expect(info.creator.application).toBe(creator);
    expect(info.uniqueId).toBe(oracle.identifier);
    expect(info.virtualSize).toBe(oracle.mediaSize);
    expect(JSON.parse(JSON.stringify(info))).toEqual(info);
  });

  test("image-differential.vhd resolves image.vhd by its parent name and reads byte-identical to pyvhdi", async () => {
    const info = await inspectDisk(sample("image-differential.vhd"));
    expect(info.parent?.resolvedPath).toBe(sample("image.vhd"));
    expect(info.chain).toEqual([{ path: sample("image.vhd"), uniqueId: "d49c5c80-350a-4a89-898a-5ad6d10f6578", type: "dynamic" }]);
    const oracleOut = sample("image-differential.pyvhdi.raw");
    await pyvhdiReadChain([sample("image-differential.vhd"), sample("image.vhd")], oracleOut);
    const ours = await readWhole(sample("image-differential.vhd"));
    expect(ours.equals(await readFile(oracleOut))).toBe(true);
    expect(ours.some((byte) => byte !== 0)).toBe(true);
  });

  test("ext2.vhd reads byte-identical to pyvhdi and to qemu-img convert", async () => {
    const ours = await readWhole(sample("ext2.vhd"));
    await pyvhdiReadChain([sample("ext2.vhd")], sample("ext2.pyvhdi.raw"));
    await qemuImgConvertToRaw(sample("ext2.vhd"), sample("ext2.qemu.raw"));
    expect(ours.equals(await readFile(sample("ext2.pyvhdi.raw")))).toBe(true);
    expect(ours.equals(await readFile(sample("ext2.qemu.raw")))).toBe(true);
  });

  test("fat-differential.vhd reports its Windows parent path, locators and id as libvhdi does", async () => {
    const info = await inspectDisk(sample("fat-differential.vhd"));
    const oracle = await vhdiinfo(sample("fat-differential.vhd"));
    expect(info.parent).toMatchObject({
      uniqueId: "5fa21a55-f394-aa4d-9958-1951a67d5540",
      name: "C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd",
      locators: [
        { code: "W2ku", path: "C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd" },
        { code: "W2ru", path: ".\\fat-parent.vhd" },
      ],
      resolvedPath: null,
    });
    expect(info.parent?.uniqueId).toBe(oracle.parentIdentifier);
    expect(info.parent?.name).toBe(oracle.parentFilename);
    expect(info.chainError?.code).toBe("ERROR_VHD_PARENT_VHD_NOT_FOUND");
  });

  test("fat-differential.vhd's missing parent is a clear error naming the child, the id and the path tried", async () => {
    const error = await openChain(sample("fat-differential.vhd")).catch((caught: unknown) => caught);
    expect(isVhdError(error, "ERROR_VHD_PARENT_VHD_NOT_FOUND")).toBe(true);
    if (!isVhdError(error)) return;
    expect(error.hresultHex).toBe("0xC03A000D");
    expect(error.path).toBe(sample("fat-differential.vhd"));
    expect(error.message).toContain("5fa21a55-f394-aa4d-9958-1951a67d5540");
    expect(error.message).toContain(sample("fat-parent.vhd"));
    expect(error.details["tried"]).toEqual([
      { path: sample("fat-parent.vhd"), source: "W2ru, W2ku, parentUnicodeName", result: "missing" },
    ]);
  });

  test("a file named fat-parent.vhd with another id is refused as ERROR_VHD_CHILD_PARENT_ID_MISMATCH", async () => {
    const folder = join(temp.path(), "impostor");
    await mkdir(folder);
    await copyFile(sample("fat-differential.vhd"), join(folder, "fat-differential.vhd"));
    await writeVhd(join(folder, "fat-parent.vhd"), { type: "dynamic", virtualSize: 4 * 1024 * 1024 });
    const error = await openChain(join(folder, "fat-differential.vhd")).catch((caught: unknown) => caught);
    expect(isVhdError(error, "ERROR_VHD_CHILD_PARENT_ID_MISMATCH")).toBe(true);
    expect(String(error)).toContain("5fa21a55-f394-aa4d-9958-1951a67d5540");
    expect(String(error)).toContain(join(folder, "fat-parent.vhd"));
  });

  test("verify: ext2.vhd holds; the stale checksums of image.vhd and the missing parent of fat-differential fail", async () => {
    expect((await verifyDisk(sample("ext2.vhd"))).ok).toBe(true);
    const image = await verifyDisk(sample("image.vhd"));
    expect(image.ok).toBe(false);
    expect(image.checks.find((check) => check.name === "tail footer: checksum")?.ok).toBe(false);
    const fat = await verifyDisk(sample("fat-differential.vhd"));
    expect(fat.ok).toBe(false);
    expect(fat.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual([
      "chain: every parent found, matching id and size",
    ]);
  });

  test("strict opening refuses image.vhd's stale footer checksum", async () => {
    const error = await openChain(sample("image.vhd"), { strict: true }).catch((caught: unknown) => caught);
    expect(isVhdError(error, "ERROR_VHD_DRIVE_FOOTER_CHECKSUM_MISMATCH")).toBe(true);
    expect(isVhdError(error) && error.details["field"]).toBe("checksum");
  });
});
