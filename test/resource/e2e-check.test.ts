/**
 * End to end, real Pulumi CLI: what `check` can know from the inputs and the parent file it reports at preview, not
 * only at `up`, against the input at fault, with the error's name and HRESULT.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiskStack, type DiskSpec, filesLeft } from "./e2e-support";

let disks: DiskStack;

beforeAll(async () => {
  disks = await DiskStack.create("check", () => []);
  mkdirSync(join(disks.dir, "folder.vhd"));
  writeFileSync(join(disks.dir, "notes.vhd"), "not a disk\n");
});

afterAll(async () => {
  await disks?.dispose();
});

async function previewFails(spec: DiskSpec, expected: RegExp): Promise<void> {
  await disks.setDisks([spec]);
  const preview = await disks.stack.preview();
  expect(preview.code, preview.output).not.toBe(0);
  expect(preview.output).toMatch(expected);
}

describe("check errors at preview, against the right input", () => {
  it("a block size the writer does not make: blockSize, ERROR_VHD_INVALID_BLOCK_SIZE", async () => {
    await previewFails(
      { name: "blocks", parentPath: disks.golden, imagePath: join(disks.dir, "blocks.vhd"), blockSize: 3 },
      /property blockSize value \{3\} has a problem: ERROR_VHD_INVALID_BLOCK_SIZE \(0xC03A000B\): blockSize 3, imagePath ".*blocks\.vhd": a VHD block size must be/,
    );
  });

  it("imagePath equal to parentPath: ERROR_ALREADY_EXISTS", async () => {
    await previewFails(
      { name: "self", parentPath: disks.golden, imagePath: disks.golden },
      /property imagePath value \{.*golden\.vhd\} has a problem: ERROR_ALREADY_EXISTS \(0x800700B7\): imagePath ".*golden\.vhd": imagePath names the parent itself/,
    );
  });

  it("a parent that is a folder: parentPath, ERROR_PATH_NOT_FOUND", async () => {
    await previewFails(
      { name: "folder", parentPath: join(disks.dir, "folder.vhd"), imagePath: join(disks.dir, "child.vhd") },
      /property parentPath value \{.*folder\.vhd\} has a problem: ERROR_PATH_NOT_FOUND \(0x80070003\): parentPath ".*folder\.vhd": the path names a folder/,
    );
  });

  it("a parent that is a text file: parentPath, with the reader's error (was: blamed on imagePath)", async () => {
    await previewFails(
      { name: "notes", parentPath: join(disks.dir, "notes.vhd"), imagePath: join(disks.dir, "child.vhd") },
      /property parentPath value \{.*notes\.vhd\} has a problem: ERROR_VHD_[A-Z_]+ \(0xC03A00[0-9A-F]{2}\): parentPath ".*notes\.vhd": this disk cannot serve as a parent/,
    );
  });

  it("a .vhdx child of a VHD parent: parentPath, ERROR_VHD_INVALID_TYPE (was: found only at up)", async () => {
    await previewFails(
      { name: "mixed", parentPath: disks.golden, imagePath: join(disks.dir, "child.vhdx") },
      /property parentPath value \{.*golden\.vhd\} has a problem: ERROR_VHD_INVALID_TYPE \(0xC03A001B\): parentPath ".*golden\.vhd": parentPath is a VHD disk but imagePath names a VHDX file/,
    );
  });

  it("nothing was written by any of them", () => {
    expect(filesLeft(disks.dir)).toEqual(["folder.vhd", "golden.vhd", "notes.vhd"]);
  });
});
