/**
 * End to end, real Pulumi CLI: the resource options `ignoreChanges` and `replaceOnChanges` on a disk's inputs.
 * `ignoreChanges: ["parentChecksum"]` keeps a disk, and what a VM wrote into it, across a golden-image edit its owner
 * judged harmless (the README states the risk); `replaceOnChanges` turns a setting's in-place update into a replace.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DiskSpec, DiskStack, jsonSteps, sha256Of, vhdRead, vhdWrite } from "./e2e-support";

let disks: DiskStack;
const path = (name: string): string => join(disks.dir, "vms", `${name}.vhd`);
const vmData = Buffer.alloc(8192, 0x4e);

/** `kept` ignores parent checksum changes, `plain` does not, `strict` is rebuilt when its protection changes. */
function specs(golden: string, dir: string, strictProtected = false): DiskSpec[] {
  return [
    { name: "kept", parentPath: golden, imagePath: join(dir, "vms", "kept.vhd"), options: { ignoreChanges: ["parentChecksum"] } },
    { name: "plain", parentPath: golden, imagePath: join(dir, "vms", "plain.vhd") },
    {
      name: "strict",
      parentPath: golden,
      imagePath: join(dir, "vms", "strict.vhd"),
      protectParent: strictProtected,
      options: { replaceOnChanges: ["protectParent"] },
    },
  ];
}

beforeAll(async () => {
  disks = await DiskStack.deployed("options", specs);
});

afterAll(async () => {
  await disks?.dispose();
});

describe("resource options on a disk's inputs", () => {
  it("ignoreChanges on parentChecksum keeps the disk and its data across a golden-image edit", async () => {
    await vhdWrite(path("kept"), 0, vmData);
    const { uniqueId } = await disks.outputsOf("kept");
    // Into the golden image's first block, which is allocated: its content changes, its size does not.
    await vhdWrite(disks.golden, 16 * 1024, Buffer.alloc(4096, 0x77));
    const preview = await disks.stack.preview(["--json"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = jsonSteps(preview.stdout);
    expect(steps.get("kept")?.map((step) => step.op) ?? ["same"]).toEqual(["same"]);
    expect(steps.get("plain")?.[0]).toMatchObject({ op: "replace", replaceReasons: ["parentChecksum"] });
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect((await disks.outputsOf("kept")).uniqueId).toBe(uniqueId);
    expect((await vhdRead(path("kept"), 0, vmData.length)).equals(vmData)).toBe(true);
    expect((await disks.outputsOf("plain")).parentChecksum).toBe(sha256Of(disks.golden));
    const again = await disks.stack.preview(["--expect-no-changes"]);
    expect(again.code, again.output).toBe(0);
  });

  it("replaceOnChanges on a setting that updates in place (protectParent) plans a replace naming it; up does it", async () => {
    await vhdWrite(path("strict"), 0, vmData);
    const { uniqueId } = await disks.outputsOf("strict");
    await disks.setDisks(specs(disks.golden, disks.dir, true));
    const preview = await disks.stack.preview(["--json"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = jsonSteps(preview.stdout);
    expect(steps.get("strict")?.[0]).toMatchObject({ op: "replace", replaceReasons: ["protectParent"] });
    expect(steps.has("kept")).toBe(false);
    // The new disk takes the old one's path: the old one goes first.
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect((await disks.outputsOf("strict")).uniqueId).not.toBe(uniqueId);
    expect((await vhdRead(path("strict"), 0, vmData.length)).equals(vmData)).toBe(false);
    // Back to no protection (a replace again), so nothing is left read-only for the clean-up.
    await disks.setDisks(specs(disks.golden, disks.dir));
    const back = await disks.stack.up();
    expect(back.code, back.output).toBe(0);
  });
});
