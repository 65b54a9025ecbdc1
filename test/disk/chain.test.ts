/**
 * The chain walk above the drivers: resolution, identity, size, depth, cycles, not-found and the composed read, shown
 * on a second format ("toy", toy-format.ts) that shares no code with VHD, so none of it can lean on VHD records.
 * The same rules on real VHD files are in test/vhd/reader/chain.test.ts.
 */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { openChain } from "../../provider/disk/chain";
import { DRIVERS, driverForNewFile, openDisk } from "../../provider/disk/formats";
import { isVhdError } from "../../provider/errors";
import { localStorage } from "../../provider/storage/local/local-storage";
import { vhdDriver } from "../../provider/vhd/driver";
import { useTempDir } from "../vhd/reader/temp-dir";
import { MIB, createBase } from "../vhd/writer/disks";
import { toyDriver, writeToyDisk, type ToyDisk } from "./toy-format";

const temp = useTempDir("disk-chain");
const SIZE = 64 * 1024;
const drivers = [toyDriver];

function child(uniqueId: string, parentId: string, candidates: string[], data: ToyDisk["data"] = []): ToyDisk {
  return { uniqueId, virtualSize: SIZE, kind: "differencing", parent: { uniqueId: parentId, name: "parent.toy", candidates }, data };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<Record<string, unknown>> {
  const error = await promise.then(
    () => expect.fail(`expected ${code}`),
    (failure: unknown) => failure,
  );
  if (!isVhdError(error)) throw error;
  expect(error.code).toBe(code);
  return { message: error.message, ...error.details };
}

describe("the chain walk on a second format", () => {
  test("three toy disks resolve through their parent references and read composed: leaf over parent over zeros", async () => {
    const base = join(temp.path(), "base.toy");
    const middle = join(temp.path(), "middle.toy");
    const leaf = join(temp.path(), "leaf.toy");
    await writeToyDisk(base, { uniqueId: "B", virtualSize: SIZE, kind: "dynamic", data: [{ offset: 0, length: 8192, fill: 0xbb }] });
    await writeToyDisk(middle, child("M", "B", [join(temp.path(), "missing.toy"), base], [{ offset: 4096, length: 4096, fill: 0x33 }]));
    await writeToyDisk(leaf, child("L", "M", [middle], [{ offset: 1024, length: 512, fill: 0x11 }]));
    const chain = await openChain(leaf, { drivers });
    try {
      expect(chain.images.map((image) => image.uniqueId)).toEqual(["L", "M", "B"]);
      expect(chain.links[0]?.attempts).toEqual([{ path: middle, source: "toy", result: "found" }]);
      expect(chain.links[1]?.attempts.map((attempt) => attempt.result)).toEqual(["missing", "found"]);
      const bytes = await chain.read(0, 12288);
      expect(bytes[0]).toBe(0xbb);
      expect(bytes[1024]).toBe(0x11);
      expect(bytes[1536]).toBe(0xbb);
      expect(bytes[4096]).toBe(0x33);
      expect(bytes[8192]).toBe(0);
      expect(await chain.rangesHeldAbove(2, 0, SIZE)).toEqual([
        { offset: 1024, length: 512 },
        { offset: 4096, length: 4096 },
      ]);
    } finally {
      await chain.close();
    }
  });

  test("a parent that is nowhere is ERROR_VHD_PARENT_VHD_NOT_FOUND naming every path tried", async () => {
    const leaf = join(temp.path(), "orphan.toy");
    const tried = [join(temp.path(), "gone-1.toy"), join(temp.path(), "gone-2.toy")];
    await writeToyDisk(leaf, child("O", "X", tried));
    const details = await expectCode(openChain(leaf, { drivers }), "ERROR_VHD_PARENT_VHD_NOT_FOUND");
    for (const path of tried) expect(details["message"]).toContain(path);
    expect(details["tried"]).toEqual(tried.map((path) => ({ path, source: "toy", result: "missing" })));
    expect(details["expectedParentId"]).toBe("X");
  });

  test("a candidate with another identity is ERROR_VHD_CHILD_PARENT_ID_MISMATCH; another size ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH", async () => {
    const other = join(temp.path(), "other.toy");
    await writeToyDisk(other, { uniqueId: "Z", virtualSize: SIZE * 2, kind: "dynamic", data: [] });
    const mismatched = join(temp.path(), "mismatched.toy");
    await writeToyDisk(mismatched, child("C", "Y", [other]));
    await expectCode(openChain(mismatched, { drivers }), "ERROR_VHD_CHILD_PARENT_ID_MISMATCH");
    const resized = join(temp.path(), "resized.toy");
    await writeToyDisk(resized, child("D", "Z", [other]));
    await expectCode(openChain(resized, { drivers }), "ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH");
  });

  test("two disks naming each other are ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED", async () => {
    const first = join(temp.path(), "first.toy");
    const second = join(temp.path(), "second.toy");
    await writeToyDisk(first, child("1", "2", [second]));
    await writeToyDisk(second, child("2", "1", [first]));
    const details = await expectCode(openChain(first, { drivers }), "ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED");
    expect(details["chain"]).toEqual([first, second, first]);
  });

  test("a chain deeper than maxDepth is ERROR_VIRTUAL_DISK_LIMITATION (64 by default); within it, it opens", async () => {
    const paths = Array.from({ length: 66 }, (_, index) => join(temp.path(), `deep-${index}.toy`));
    await writeToyDisk(paths[65] as string, { uniqueId: "d65", virtualSize: SIZE, kind: "fixed", data: [] });
    for (let index = 0; index < 65; index++) {
      await writeToyDisk(paths[index] as string, child(`d${index}`, `d${index + 1}`, [paths[index + 1] as string]));
    }
    const details = await expectCode(openChain(paths[0] as string, { drivers }), "ERROR_VIRTUAL_DISK_LIMITATION");
    expect(details["maxDepth"]).toBe(64);
    const chain = await openChain(paths[2] as string, { drivers });
    expect(chain.images).toHaveLength(64);
    await chain.close();
    await expectCode(openChain(paths[60] as string, { drivers, maxDepth: 5 }), "ERROR_VIRTUAL_DISK_LIMITATION");
  });
});

describe("creating a child through the driver", () => {
  test("the driver chosen by the new file's name writes a child the chain then resolves to its parent", async () => {
    const parent = join(temp.path(), "made-parent.toy");
    await writeToyDisk(parent, { uniqueId: "P", virtualSize: SIZE, kind: "dynamic", data: [{ offset: 0, length: 512, fill: 0x7f }] });
    const made = join(temp.path(), "made-child.toy");
    const driver = driverForNewFile(made, [vhdDriver, toyDriver]);
    const file = await localStorage.createExclusive(made);
    try {
      const parentFile = await localStorage.open(parent);
      const parentFacts = await toyDriver.readParentFacts(parentFile, localStorage).finally(() => parentFile.close());
      const blockSize = driver.checkBlockSize(undefined, made);
      await driver.createDifferencing(file, parentFacts, { imagePath: made, parentPath: parent, blockSize });
    } finally {
      await file.close();
    }
    const chain = await openChain(made, { drivers });
    try {
      expect(chain.images.map((image) => image.path)).toEqual([made, parent]);
      expect((await chain.read(0, 1024)).subarray(510, 514)).toEqual(new Uint8Array([0x7f, 0x7f, 0, 0]));
    } finally {
      await chain.close();
    }
  });
});

describe("choosing the driver", () => {
  test("an existing file by its signature, whatever its name; a new file by its extension", async () => {
    const vhd = join(temp.path(), "named.toy");
    await createBase(vhd, { size: 4 * MIB, type: "dynamic" });
    const toy = join(temp.path(), "named.vhd");
    await writeToyDisk(toy, { uniqueId: "T", virtualSize: SIZE, kind: "fixed", data: [] });
    const both = [vhdDriver, toyDriver];
    const asToy = await openDisk(toy, { drivers: both });
    expect(asToy.uniqueId).toBe("T");
    await asToy.close();
    const asVhd = await openDisk(vhd, { drivers: both });
    expect(asVhd.format).toBe("vhd");
    await asVhd.close();
    expect(driverForNewFile("/disks/a.toy", both)).toBe(toyDriver);
    expect(driverForNewFile("/disks/a.AVHD", both)).toBe(vhdDriver);
    expect(driverForNewFile("/disks/a.img")).toBe(DRIVERS[0]);
  });
});
