/**
 * End to end, real Pulumi CLI: `protectParent` keeps the golden image read-only while any disk that asked for it
 * exists, wherever that disk lives (here one next to a `vms` folder, one in another folder), and gives the write
 * permission back when the last one goes, as the README says.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { holdsRecordPath } from "../../provider/ops/protect-parent";
import { DiskStack, type DiskSpec } from "./e2e-support";

let disks: DiskStack;
let near: DiskSpec;
let far: DiskSpec;
const mode = (file: string): number => statSync(file).mode & 0o777;

beforeAll(async () => {
  disks = await DiskStack.create("protect", (golden, dir) => {
    near = { name: "near", parentPath: golden, imagePath: join(dir, "vms", "near.vhd"), protectParent: true };
    far = { name: "far", parentPath: golden, imagePath: join(dir, "elsewhere", "deep", "far.vhd"), protectParent: true };
    return [near, far];
  });
});

afterAll(async () => {
  await disks?.dispose();
});

describe("protectParent across folders under the real CLI", () => {
  it("up makes the golden image read-only for both disks", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(mode(disks.golden)).toBe(0o444);
  });

  it("deleting one disk leaves the parent read-only while the other, in another folder, exists", async () => {
    await disks.setDisks([far]);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(existsSync(near.imagePath)).toBe(false);
    expect(mode(disks.golden)).toBe(0o444);
  });

  it("deleting the last one gives the write permission back; no record and no folder of ours is left", async () => {
    await disks.setDisks([]);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(mode(disks.golden)).toBe(0o644);
    expect(existsSync(holdsRecordPath(disks.golden)), "the holds record").toBe(false);
    expect(existsSync(join(disks.dir, "vms")) || existsSync(join(disks.dir, "elsewhere")), "the folders create made").toBe(false);
  });
});
