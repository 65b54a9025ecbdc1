/**
 * End to end, real Pulumi CLI: golden images move (`mv`, same bytes) under a stack of three VMs, a managed chain
 * (golden <- vm1 <- vm1-child) and a chain of depth 3 off a disk made outside the stack. The program follows the move:
 * `preview --diff` plans updates that say "relink: same parent at a new path", no replace; `up` relinks; what each VM
 * wrote reads back unchanged, for us and pyvhdi. The disk below a relinked one keeps its data too: what it recorded of
 * vm1 (an unlinked checksum) does not cover the link the relink rewrites. A moved golden image whose content also
 * changed still plans replaces, down the chain.
 */
import { createHash } from "node:crypto";
import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { createBaseDisk } from "../../provider/ops/create-base";
import { pyvhdiReadChain } from "../support/oracles";
import { deployWrittenVms, DiskStack, type DiskSpec, type WrittenVms, plannedSteps, sha256Of, vhdRead, vhdWrite } from "./e2e-support";

const MiB = 1024 * 1024;
const DISK_SIZE = 16 * MiB;
const VMS = ["vm1", "vm2", "vm3"];
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

let disks: DiskStack;
const vm = (name: string): string => join(disks.dir, "vms", `${name}.vhd`);
let base2: string;
let mid: string;
let uniqueIds: WrittenVms["uniqueIds"];
let expected: WrittenVms["expected"];

/**
 * The program: three VMs off `golden`, and `leaf` off `middle` (a disk made outside the stack, off base2); with
 * `child`, also `vm1-child` off vm1 (golden <- vm1 <- vm1-child, both managed).
 */
function program(golden: string, middle: string, child = true): DiskSpec[] {
  return [
    ...VMS.map((name) => ({ name, parentPath: golden, imagePath: vm(name) })),
    { name: "leaf", parentPath: middle, imagePath: vm("leaf") },
    ...(child ? [{ name: "vm1-child", parent: "vm1", imagePath: vm("vm1-child") }] : []),
  ];
}

const DISKS = [...VMS, "leaf", "vm1-child"];

beforeAll(async () => {
  disks = await DiskStack.create("relink", () => []);
  base2 = join(disks.dir, "base2.vhd");
  mid = join(disks.dir, "chain", "mid.vhd");
  await createBaseDisk({ path: base2, size: DISK_SIZE, type: "dynamic" });
  await vhdWrite(base2, 2 * MiB, Buffer.alloc(64 * 1024, 0x42));
  await createDifferencingDisk({ imagePath: mid, parentPath: base2 });
  await vhdWrite(mid, 3 * MiB, Buffer.alloc(64 * 1024, 0x4d));
  ({ expected, uniqueIds } = await deployWrittenVms(
    disks,
    (child) => program(disks.golden, mid, child),
    [...VMS, "leaf"].map((name, index) => ({ path: vm(name), offset: index * MiB, data: Buffer.alloc(128 * 1024, 0x10 + index) })),
  ));
});

afterAll(async () => {
  await disks?.dispose();
});

describe("a golden image moved under a stack of VMs", () => {
  let movedGolden: string;
  let movedMid: string;

  it("plans one relink per disk off a moved parent, nothing or an update below them, and no replace", async () => {
    movedGolden = join(disks.dir, "images", "golden-2026.vhd");
    movedMid = join(disks.dir, "chain-2026", "mid.vhd");
    mkdirSync(join(disks.dir, "images"));
    mkdirSync(join(disks.dir, "chain-2026"));
    renameSync(disks.golden, movedGolden);
    renameSync(mid, movedMid);
    await disks.setDisks(program(movedGolden, movedMid));
    const preview = await disks.stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = plannedSteps(preview.output);
    const relinked = steps.filter((step) => step.name !== "vm1-child");
    expect(relinked.map((step) => [step.name, step.operation]).sort(), preview.output).toEqual(
      [...VMS, "leaf"].map((name) => [name, "update"]).sort(),
    );
    for (const step of relinked) expect(step.text).toMatch(/relink\s*: "same parent at a new path"/);
    // vm1-child's parent keeps its path; its link to the moved golden image is vm1's, relinked in this run.
    for (const step of steps.filter((step) => step.name === "vm1-child")) expect(step.operation).toBe("update");
    expect(preview.output).not.toMatch(/replace/);
  });

  it("up relinks every disk in place: same disks, new parent paths, the VMs' data unchanged (ours and pyvhdi)", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    for (const name of VMS) {
      expect(await disks.outputsOf(name)).toMatchObject({ uniqueId: uniqueIds[name], parentPath: movedGolden, chain: [movedGolden] });
    }
    expect(await disks.outputsOf("leaf")).toMatchObject({ uniqueId: uniqueIds.leaf, parentPath: movedMid, chain: [movedMid, base2] });
    expect(await disks.outputsOf("vm1-child")).toMatchObject({
      uniqueId: uniqueIds["vm1-child"],
      parentPath: vm("vm1"),
      chain: [vm("vm1"), movedGolden],
    });
    for (const name of DISKS) expect((await vhdRead(vm(name), 0, DISK_SIZE)).equals(expected[name] as Buffer), name).toBe(true);
    for (const name of VMS) {
      const read = await pyvhdiReadChain([vm(name), movedGolden], join(disks.dir, "pyvhdi.raw"));
      expect(read.sha256).toBe(sha256(expected[name] as Buffer));
    }
    const leaf = await pyvhdiReadChain([vm("leaf"), movedMid, base2], join(disks.dir, "pyvhdi.raw"));
    expect(leaf.sha256).toBe(sha256(expected.leaf as Buffer));
    const child = await pyvhdiReadChain([vm("vm1-child"), vm("vm1"), movedGolden], join(disks.dir, "pyvhdi.raw"));
    expect(child.sha256).toBe(sha256(expected["vm1-child"] as Buffer));
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });

  it("a write into vm1 still replaces the disk below it, with the reason", async () => {
    const recorded = (await disks.outputsOf("vm1-child")).parentChecksum;
    expect(recorded).toMatch(/^sha256-unlinked:[0-9a-f]{64}$/);
    await vhdWrite(vm("vm1"), 7 * MiB, Buffer.alloc(4096, 0x99));
    const preview = await disks.stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = plannedSteps(preview.output);
    expect(steps.map((step) => [step.name, step.operation]), preview.output).toEqual([["vm1-child", "replace"]]);
    expect(steps[0]?.text).toMatch(new RegExp(`~ parentChecksum\\s*: "${recorded as string}" => "sha256-unlinked:[0-9a-f]{64}"`));
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
  });

  it("a golden image moved whose content also changed still plans replaces, down the chain, with the reason", async () => {
    const again = join(disks.dir, "images", "golden-2027.vhd");
    const before = sha256Of(movedGolden);
    renameSync(movedGolden, again);
    await vhdWrite(again, 0, Buffer.alloc(4096, 0xee));
    await disks.setDisks(program(again, movedMid));
    const preview = await disks.stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = plannedSteps(preview.output);
    expect(steps.map((step) => [step.name, step.operation]).sort(), preview.output).toEqual(
      [...VMS, "vm1-child"].map((name) => [name, "replace"]).sort(),
    );
    const change = new RegExp(`~ parentChecksum\\s*: "${before}" => "${sha256Of(again)}"`);
    // vm1-child is a dependent of a disk replaced first (the engine asks the provider nothing): its inputs show, the
    // golden image above it marked as changed.
    expect(steps.find((step) => step.name === "vm1-child")?.text).toMatch(new RegExp(`[-~] ancestors\\s*: {\\s*[-~] ${movedGolden}`));
    for (const step of steps.filter((step) => step.name !== "vm1-child")) {
      expect(step.text).toMatch(change);
      // Only `- relink`, the note of the last update's inputs going away, may show.
      expect(step.text).not.toMatch(/[+~] relink/);
    }
  });
});
