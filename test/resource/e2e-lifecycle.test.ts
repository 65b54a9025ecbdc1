/**
 * End to end, real Pulumi CLI: a chain of depth 3 and a sibling off one golden image. No changes (also after a VM
 * writes into a leaf), then a golden-image change that keeps size and mtime (`touch -r`) plans a replace of every
 * descendant with the reason shown, `up` rebuilds them at the same paths, `destroy` leaves the golden image alone and
 * takes away the folder `up` made.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changeKeepingSizeAndMtime, DiskStack, plannedSteps, sha256Of, vhdWrite } from "./e2e-support";

let disks: DiskStack;
const path = (name: string): string => join(disks.dir, "vms", `${name}.vhd`);
const uniqueIds: Record<string, unknown> = {};

beforeAll(async () => {
  disks = await DiskStack.create("lifecycle", (golden, dir) => [
    { name: "a", parentPath: golden, imagePath: join(dir, "vms", "a.vhd") },
    { name: "b", parent: "a", imagePath: "b.vhd" },
    { name: "c", parent: "b", imagePath: "c.vhd" },
    { name: "sibling", parentPath: golden, imagePath: join(dir, "vms", "sibling.vhd") },
  ]);
});

afterAll(async () => {
  await disks?.dispose();
});

describe("DifferencingDisk lifecycle under the real CLI", () => {
  it("up creates the chain and records the golden image's checksum", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    const c = await disks.outputsOf("c");
    expect(c).toMatchObject({ imagePath: path("c"), chainDepth: 3, chain: [path("b"), path("a"), disks.golden] });
    expect(await disks.outputsOf("a")).toMatchObject({ parentChecksum: sha256Of(disks.golden), parentDiskType: "dynamic" });
    for (const name of ["a", "b", "c", "sibling"]) uniqueIds[name] = (await disks.outputsOf(name)).uniqueId;
  });

  it("an untouched stack has no changes: preview and refresh pass --expect-no-changes, hashing 0 bytes", async () => {
    const hashed = disks.bytesHashed();
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
    const refresh = await disks.stack.refresh(["--expect-no-changes"]);
    expect(refresh.code, refresh.output).toBe(0);
    expect(disks.bytesHashed()).toBe(hashed);
  });

  it("writing into a leaf disk (what a VM does) is no change at all", async () => {
    await vhdWrite(path("c"), 0, Buffer.alloc(4096, 1));
    await vhdWrite(path("sibling"), 5 * 1024 * 1024, Buffer.alloc(4096, 2));
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
    const refresh = await disks.stack.refresh(["--expect-no-changes"]);
    expect(refresh.code, refresh.output).toBe(0);
  });

  it("a golden-image change keeping size and mtime plans a replace of every descendant, showing old and new checksum", async () => {
    const before = sha256Of(disks.golden);
    await changeKeepingSizeAndMtime(disks.golden, 4096);
    const after = sha256Of(disks.golden);
    const preview = await disks.stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = plannedSteps(preview.output);
    expect(steps.map((step) => [step.name, step.operation]).sort(), preview.output).toEqual([
      ["a", "replace"],
      ["b", "replace"],
      ["c", "replace"],
      ["sibling", "replace"],
    ]);
    // Why, with old and new values: the parent's checksum for its children, the ancestor's for the disks below.
    const change = new RegExp(`~ parentChecksum\\s*: "${before}" => "${after}"`);
    for (const name of ["a", "sibling"]) expect(steps.find((step) => step.name === name)?.text).toMatch(change);
    for (const name of ["b", "c"]) {
      const text = steps.find((step) => step.name === name)?.text ?? "";
      expect(text).toContain(disks.golden);
      expect(text).toMatch(new RegExp(`~ checksum\\s*: "${before}" => "${after}"`));
    }
  });

  it("up rebuilds them at the same paths, and the stack is clean again", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    for (const name of ["a", "b", "c", "sibling"]) {
      const outputs = await disks.outputsOf(name);
      expect(outputs.imagePath).toBe(path(name));
      expect(outputs.uniqueId).not.toBe(uniqueIds[name]);
    }
    expect(await disks.outputsOf("a")).toMatchObject({ parentChecksum: sha256Of(disks.golden) });
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });

  it("destroy removes exactly the disks and never touches the golden image", async () => {
    const golden = sha256Of(disks.golden);
    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    // `vms/` was made by the first create and held by its siblings since: the last delete takes it away.
    expect(existsSync(join(disks.dir, "vms"))).toBe(false);
    expect(sha256Of(disks.golden)).toBe(golden);
  });
});
