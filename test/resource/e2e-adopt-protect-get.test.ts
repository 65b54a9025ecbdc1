/**
 * End to end, real Pulumi CLI: `adopt` takes over an existing disk, `protectParent` keeps the parent read-only while
 * children exist, `DifferencingDisk.get` reads a disk by id.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { DiskStack } from "./e2e-support";

let disks: DiskStack;
let legacyId: string;
const path = (name: string): string => join(disks.dir, "vms", `${name}.vhd`);
const legacyPath = (): string => join(disks.dir, "legacy", "legacy.vhd");
const mode = (file: string): number => statSync(file).mode & 0o777;

beforeAll(async () => {
  disks = await DiskStack.create("adopt", (golden, dir) => [
    // In a folder of its own, without protectParent: `guarded` is the only holder of the parent's protection.
    { name: "legacy", parentPath: golden, imagePath: join(dir, "legacy", "legacy.vhd"), adopt: true },
    { name: "guarded", parentPath: golden, imagePath: join(dir, "vms", "guarded.vhd"), protectParent: true },
  ]);
  legacyId = (await createDifferencingDisk({ imagePath: legacyPath(), parentPath: disks.golden })).uniqueId;
});

afterAll(async () => {
  await disks?.dispose();
});

describe("adopt, protectParent and get under the real CLI", () => {
  it("up adopts the existing disk (same unique id) and makes the parent read-only", async () => {
    expect(mode(disks.golden)).toBe(0o644);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(await disks.outputsOf("legacy")).toMatchObject({ adopted: true, uniqueId: legacyId });
    expect(await disks.outputsOf("guarded")).toMatchObject({ adopted: false });
    expect(mode(disks.golden)).toBe(0o444);
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });

  it("get reads a disk by its path", async () => {
    await disks.stack.runChecked(["config", "set", "--stack", disks.stack.stackName, "gets", JSON.stringify([{ name: "found", id: legacyPath() }])]);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(await disks.outputsOf("found")).toMatchObject({ uniqueId: legacyId, parentPath: disks.golden, chainDepth: 1 });
  });

  it("destroy deletes the managed disks and gives the parent its write permission back", async () => {
    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    expect(existsSync(legacyPath())).toBe(false);
    expect(existsSync(path("guarded"))).toBe(false);
    expect(mode(disks.golden)).toBe(0o644);
  });
});
