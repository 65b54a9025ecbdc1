/**
 * End to end, real Pulumi CLI: a disk that cannot be created fails `pulumi up` with the error's name and HRESULT in
 * the output, and leaves nothing on disk (no file, no temporary file, no folder).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiskStack, type DiskSpec, filesLeft } from "./e2e-support";

let disks: DiskStack;

beforeAll(async () => {
  disks = await DiskStack.create("errors", () => []);
});

afterAll(async () => {
  await disks?.dispose();
});

async function upFails(spec: DiskSpec, expected: RegExp): Promise<void> {
  await disks.setDisks([spec]);
  const up = await disks.stack.up();
  expect(up.code, up.output).not.toBe(0);
  expect(up.output).toMatch(expected);
}

describe("create errors under the real CLI", () => {
  it("ERROR_ALREADY_EXISTS: the file is left as it was", async () => {
    const taken = join(disks.dir, "taken.vhd");
    writeFileSync(taken, "somebody's file");
    await upFails({ name: "taken", parentPath: disks.golden, imagePath: taken }, /ERROR_ALREADY_EXISTS \(0x800700B7\): imagePath ".*taken\.vhd"/);
    expect(readFileSync(taken, "utf8")).toBe("somebody's file");
  });

  it("ERROR_PATH_NOT_FOUND for a missing parent: the new folder is not left behind", async () => {
    await upFails(
      { name: "orphan", parentPath: join(disks.dir, "missing.vhd"), imagePath: join(disks.dir, "new-folder", "orphan.vhd") },
      /ERROR_PATH_NOT_FOUND \(0x80070003\): parentPath ".*missing\.vhd"/,
    );
  });

  it("ERROR_INVALID_NAME from check (Windows naming rules)", async () => {
    await upFails({ name: "bad", parentPath: disks.golden, imagePath: join(disks.dir, "bad:name.vhd") }, /ERROR_INVALID_NAME \(0x8007007B\): imagePath/);
  });

  it("ERROR_BAD_PATHNAME when both paths are relative", async () => {
    await upFails({ name: "relative", parentPath: "golden.vhd", imagePath: "child.vhd" }, /ERROR_BAD_PATHNAME \(0x800700A1\)/);
  });

  it("ERROR_VHD_INVALID_BLOCK_SIZE for a block size that is not a power of two", async () => {
    await upFails(
      { name: "blocks", parentPath: disks.golden, imagePath: join(disks.dir, "blocks.vhd"), blockSize: 3000000 },
      /ERROR_VHD_INVALID_BLOCK_SIZE \(0xC03A000B\)/,
    );
  });

  it("nothing was left on disk by any of them", () => {
    expect(filesLeft(disks.dir)).toEqual(["golden.vhd", "taken.vhd"]);
  });
});
