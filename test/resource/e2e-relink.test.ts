/**
 * End to end, real Pulumi CLI: golden images move (`mv`, same bytes) under a stack of three VMs and a chain of
 * depth 3. The program follows the move: `preview --diff` plans updates that say "relink: same parent at a new path",
 * no replace; `up` relinks; what each VM wrote reads back unchanged, for us and pyvhdi. A moved golden image whose
 * content also changed still plans replaces.
 */
import { createHash } from "node:crypto";
import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { createBaseDisk } from "../../provider/ops/create-base";
import { pyvhdiReadChain } from "../support/oracles";
import { DiskStack, type DiskSpec, plannedSteps, sha256Of, vhdRead, vhdWrite } from "./e2e-support";

const MiB = 1024 * 1024;
const DISK_SIZE = 16 * MiB;
const VMS = ["vm1", "vm2", "vm3"];
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

let disks: DiskStack;
const vm = (name: string): string => join(disks.dir, "vms", `${name}.vhd`);
let base2: string;
let mid: string;
const uniqueIds: Record<string, unknown> = {};
const expected: Record<string, Buffer> = {};

/** The program: three VMs off `golden`, and `leaf` off `middle` (a disk made outside the stack, off base2). */
function program(golden: string, middle: string): DiskSpec[] {
  return [
    ...VMS.map((name) => ({ name, parentPath: golden, imagePath: vm(name) })),
    { name: "leaf", parentPath: middle, imagePath: vm("leaf") },
  ];
}

beforeAll(async () => {
  disks = await DiskStack.create("relink", () => []);
  base2 = join(disks.dir, "base2.vhd");
  mid = join(disks.dir, "chain", "mid.vhd");
  await createBaseDisk({ path: base2, size: DISK_SIZE, type: "dynamic" });
  vhdWrite(base2, 2 * MiB, Buffer.alloc(64 * 1024, 0x42));
  await createDifferencingDisk({ imagePath: mid, parentPath: base2 });
  vhdWrite(mid, 3 * MiB, Buffer.alloc(64 * 1024, 0x4d));
  await disks.setDisks(program(disks.golden, mid));
  const up = await disks.stack.up();
  expect(up.code, up.output).toBe(0);
  for (const [index, name] of [...VMS, "leaf"].entries()) {
    vhdWrite(vm(name), index * MiB, Buffer.alloc(128 * 1024, 0x10 + index));
    expected[name] = vhdRead(vm(name), 0, DISK_SIZE);
    uniqueIds[name] = (await disks.outputsOf(name)).uniqueId;
  }
});

afterAll(async () => {
  await disks?.dispose();
});

describe("a golden image moved under a stack of VMs", () => {
  let movedGolden: string;
  let movedMid: string;

  it("plans one update per disk, saying relink: same parent at a new path, and no replace", async () => {
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
    expect(steps.map((step) => [step.name, step.operation]).sort(), preview.output).toEqual(
      [...VMS, "leaf"].map((name) => [name, "update"]).sort(),
    );
    for (const step of steps) expect(step.text).toMatch(/relink\s*: "same parent at a new path"/);
    expect(preview.output).not.toMatch(/replace/);
  });

  it("up relinks every disk in place: same disks, new parent paths, the VMs' data unchanged (ours and pyvhdi)", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    for (const name of VMS) {
      expect(await disks.outputsOf(name)).toMatchObject({ uniqueId: uniqueIds[name], parentPath: movedGolden, chain: [movedGolden] });
    }
    expect(await disks.outputsOf("leaf")).toMatchObject({ uniqueId: uniqueIds.leaf, parentPath: movedMid, chain: [movedMid, base2] });
    for (const name of [...VMS, "leaf"]) expect(vhdRead(vm(name), 0, DISK_SIZE).equals(expected[name] as Buffer)).toBe(true);
    for (const name of VMS) {
      const read = await pyvhdiReadChain([vm(name), movedGolden], join(disks.dir, "pyvhdi.raw"));
      expect(read.sha256).toBe(sha256(expected[name] as Buffer));
    }
    const leaf = await pyvhdiReadChain([vm("leaf"), movedMid, base2], join(disks.dir, "pyvhdi.raw"));
    expect(leaf.sha256).toBe(sha256(expected.leaf as Buffer));
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });

  it("a golden image moved whose content also changed still plans replaces, with the reason", async () => {
    const again = join(disks.dir, "images", "golden-2027.vhd");
    const before = sha256Of(movedGolden);
    renameSync(movedGolden, again);
    vhdWrite(again, 0, Buffer.alloc(4096, 0xee));
    await disks.setDisks(program(again, movedMid));
    const preview = await disks.stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = plannedSteps(preview.output);
    expect(steps.map((step) => [step.name, step.operation]).sort(), preview.output).toEqual(VMS.map((name) => [name, "replace"]));
    const change = new RegExp(`~ parentChecksum\\s*: "${before}" => "${sha256Of(again)}"`);
    for (const step of steps) {
      expect(step.text).toMatch(change);
      // Only `- relink`, the note of the last update's inputs going away, may show.
      expect(step.text).not.toMatch(/[+~] relink/);
    }
  });
});
