/**
 * The resource names a parameter and its file the way the CLI does (issue 8, kind 6): the parameter with its value
 * when it is not the file, then the file by the input that named it.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBaseDisk } from "../../provider/ops/create-base";
import * as provider from "../../provider/resource/provider";
import type { DiskInputs } from "../../provider/resource/state";

const MiB = 1024 * 1024;
let dir: string;
let golden: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vhd-resource-naming-"));
  golden = join(dir, "golden.vhd");
  await createBaseDisk({ path: golden, size: 4 * MiB, type: "dynamic", pathRules: "posix" });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("resource errors", () => {
  it("a wrongly typed input: the parameter with its value, then imagePath", async () => {
    const imagePath = join(dir, "c.vhd");
    const result = await provider.check({}, { imagePath, parentPath: golden, pathRules: "posix", blockSize: -5 });
    expect(result.failures).toEqual([
      {
        property: "blockSize",
        reason: `E_INVALIDARG (0x80070057): blockSize -5, imagePath ${JSON.stringify(imagePath)}: blockSize must be a positive whole number of bytes, not -5`,
      },
    ]);
  });

  it("a block size no VHD writer uses: check says it as `vhd create-differencing --block-size 3MiB` does", async () => {
    const imagePath = join(dir, "odd-blocks.vhd");
    const checked = await provider.check({}, { imagePath, parentPath: golden, pathRules: "posix", blockSize: 3 * MiB });
    expect(checked.failures).toEqual([
      {
        property: "blockSize",
        reason: expect.stringContaining(
          `ERROR_VHD_INVALID_BLOCK_SIZE (0xC03A000B): blockSize 3145728, imagePath ${JSON.stringify(imagePath)}: `,
        ),
      },
    ]);
    expect(existsSync(imagePath)).toBe(false);
  });
});
