/** `vhd set-parent`: Set-VHD -ParentPath for a golden image that moved, and its refusals. */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DiskInfo } from "../../provider/disk/inspect";
import { pyvhdiReadChain } from "../support/oracles";
import { expectOneLineError, makeTempDir, runVhd, runVhdOk } from "./cli-process";

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");


describe("vhd set-parent", () => {
  const temp = makeTempDir("set-parent");
  const golden = join(temp.dir, "golden.vhd");
  const moved = join(temp.dir, "images", "golden-2026.vhd");
  const child = join(temp.dir, "vms", "web.vhd");
  const other = join(temp.dir, "other.vhd");
  let expected: Buffer;
  let goldenInfo: DiskInfo;

  beforeAll(async () => {
    goldenInfo = JSON.parse((await runVhdOk(["create", golden, "--size", "8MiB", "--json"])).text) as DiskInfo;
    await runVhdOk(["write", golden, "--offset", "0"], { input: randomBytes(3 * MiB) });
    await runVhdOk(["create-differencing", child, golden]);
    await runVhdOk(["write", child, "--offset", "1MiB"], { input: randomBytes(4 * MiB) });
    await runVhdOk(["create", other, "--size", "8MiB"]);
    expected = (await runVhdOk(["read", child])).stdout;
    mkdirSync(join(temp.dir, "images"));
    renameSync(golden, moved);
  });
  afterAll(() => temp.remove());

  it("the moved parent is not found until the child is relinked; then the child reads as before, for us and libvhdi", async () => {
    expectOneLineError(await runVhd(["read", child]), "ERROR_VHD_PARENT_VHD_NOT_FOUND", child);
    const result = JSON.parse((await runVhdOk(["set-parent", child, moved, "--json"])).text) as {
      parentPath: string;
      previous: { name: string; uniqueId: string };
      idMismatchIgnored: boolean;
      disk: DiskInfo;
    };
    expect(result).toMatchObject({ parentPath: moved, previous: { name: "golden.vhd" }, idMismatchIgnored: false });
    expect(result.disk.parent).toMatchObject({ name: "golden-2026.vhd", uniqueId: goldenInfo.uniqueId, resolvedPath: moved });
    expect(result.disk.parent?.locators).toEqual([
      { code: "W2ku", path: moved.replace(/\//g, "\\") },
      { code: "W2ru", path: "..\\images\\golden-2026.vhd" },
    ]);
    expect((await runVhdOk(["read", child])).stdout.equals(expected)).toBe(true);
    expect((await runVhdOk(["verify", child])).status).toBe(0);
    const read = await pyvhdiReadChain([child, moved], join(temp.dir, "pyvhdi.raw"));
    expect(read.sha256).toBe(sha256(expected));
  });

  it("refuses a parent of another identity with ERROR_VHD_CHILD_PARENT_ID_MISMATCH, changing nothing", async () => {
    const before = readFileSync(child);
    const run = await runVhd(["set-parent", child, other]);
    expectOneLineError(run, "ERROR_VHD_CHILD_PARENT_ID_MISMATCH", other);
    expect(run.stderr).toContain(child);
    expect(run.stderr).toContain("--ignore-id-mismatch");
    expect(readFileSync(child).equals(before)).toBe(true);
  });

  it("refuses a parent of another size, and a disk that has no parent, even with --ignore-id-mismatch", async () => {
    const small = join(temp.dir, "small.vhd");
    await runVhdOk(["create", small, "--size", "4MiB"]);
    const before = readFileSync(child);
    expectOneLineError(await runVhd(["set-parent", child, small]), "ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH", small);
    const forced = await runVhd(["set-parent", child, small, "--ignore-id-mismatch"]);
    expect(forced.status).toBe(1);
    expect(forced.stderr).toContain("vhd: ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH (0xC03A0017)");
    expect(readFileSync(child).equals(before)).toBe(true);
    expectOneLineError(await runVhd(["set-parent", other, moved]), "ERROR_VHD_INVALID_TYPE", other);
  });

  it("--ignore-id-mismatch warns about data loss and records the other parent's id", async () => {
    const run = await runVhd(["set-parent", child, other, "--ignore-id-mismatch"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^vhd: warning: .*data is lost/);
    const info = JSON.parse((await runVhdOk(["inspect", child, "--json"])).text) as DiskInfo;
    const otherInfo = JSON.parse((await runVhdOk(["inspect", other, "--json"])).text) as DiskInfo;
    expect(info.parent).toMatchObject({ uniqueId: otherInfo.uniqueId, resolvedPath: other, name: "other.vhd" });
  });
});
