/**
 * End to end, real Pulumi CLI, VHDX: a VHDX golden image with two VM disks off it, each written into by its VM, and a
 * managed disk below vm1 (golden <- vm1 <- vm1-child) written into too; the golden image moves (`mv`, same bytes) and
 * the program follows. `preview --diff` plans an update per disk off it ("relink: same parent at a new path"), no
 * replace; `up` relinks them (vhdx/relink.ts: the parent locator item rewritten through the log, the DataWriteGuid
 * kept); what each VM wrote reads back unchanged, for us and for pyvhdi, vhdiinfo names the new parent file, and the
 * next preview has no changes. vm1-child keeps its data: what it recorded of vm1 (its DataWriteGuid and unlinked
 * checksum, which masks what a relink rewrites) holds across vm1's relink. pyvhdi is handed the moved parent (libvhdi never
 * matches `relative_path`, docs/vhdx-format.md §7): that the child finds it by `relative_path` is our reader's part.
 */
import { createHash } from "node:crypto";
import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pyvhdiReadChain, vhdiinfo } from "../support/oracles";
import { HAVE } from "../vhdx/support";
import { deployWrittenVms, DiskStack, type DiskSpec, type WrittenVms, makeGoldenImage, plannedSteps, sha256Of, vhdRead } from "./e2e-support";

const MiB = 1024 * 1024;
const DISK_SIZE = 16 * MiB;
const VMS = ["vm1", "vm2"];
const DISKS = [...VMS, "vm1-child"];
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

let disks: DiskStack;
const vm = (name: string): string => join(disks.dir, "vms", `${name}.vhdx`);
let uniqueIds: WrittenVms["uniqueIds"];
let expected: WrittenVms["expected"];

function program(golden: string, child = true): DiskSpec[] {
  return [
    ...VMS.map((name) => ({ name, parentPath: golden, imagePath: vm(name) })),
    ...(child ? [{ name: "vm1-child", parent: "vm1", imagePath: vm("vm1-child") }] : []),
  ];
}

beforeAll(async () => {
  disks = await DiskStack.create("relink-vhdx", () => [], { name: "golden.vhdx", make: makeGoldenImage });
  ({ expected, uniqueIds } = await deployWrittenVms(
    disks,
    (child) => program(disks.golden, child),
    VMS.map((name, index) => ({ path: vm(name), offset: (index + 1) * MiB + 512, data: Buffer.alloc(192 * 1024, 0x20 + index) })),
  ));
});

afterAll(async () => {
  await disks?.dispose();
});

describe("a VHDX golden image moved under a stack of VMs", () => {
  let moved: string;
  let goldenSha256: string;

  it("plans one relink (an update, no replace) per disk off the moved golden image, nothing but an update below", async () => {
    goldenSha256 = sha256Of(disks.golden);
    moved = join(disks.dir, "images", "golden-2026.vhdx");
    mkdirSync(join(disks.dir, "images"));
    renameSync(disks.golden, moved);
    await disks.setDisks(program(moved));
    const preview = await disks.stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = plannedSteps(preview.output);
    const relinked = steps.filter((step) => step.name !== "vm1-child");
    expect(relinked.map((step) => [step.name, step.operation]).sort(), preview.output).toEqual(VMS.map((name) => [name, "update"]));
    for (const step of relinked) expect(step.text).toMatch(/relink\s*: "same parent at a new path"/);
    for (const step of steps.filter((step) => step.name === "vm1-child")) expect(step.operation).toBe("update");
    expect(preview.output).not.toMatch(/replace/);
  });

  it("up relinks both disks in place: same disks, the new parent path, the VMs' data unchanged (ours and pyvhdi); no change next", async (ctx) => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    for (const name of VMS) {
      expect(await disks.outputsOf(name)).toMatchObject({ uniqueId: uniqueIds[name], parentPath: moved, chain: [moved] });
    }
    expect(await disks.outputsOf("vm1-child")).toMatchObject({ uniqueId: uniqueIds["vm1-child"], parentPath: vm("vm1"), chain: [vm("vm1"), moved] });
    for (const name of DISKS) expect((await vhdRead(vm(name), 0, DISK_SIZE)).equals(expected[name] as Buffer), name).toBe(true);
    expect(sha256Of(moved)).toBe(goldenSha256);
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
    if (!HAVE.pyvhdi || !HAVE.vhdiinfo) return ctx.skip("libvhdi's vhdiinfo or pyvhdi is not installed");
    for (const name of VMS) {
      const read = await pyvhdiReadChain([vm(name), moved], join(disks.dir, "pyvhdi.raw"));
      expect(read.sha256, name).toBe(sha256(expected[name] as Buffer));
      expect((await vhdiinfo(vm(name))).parentFilename?.endsWith("\\images\\golden-2026.vhdx"), name).toBe(true);
    }
    const child = await pyvhdiReadChain([vm("vm1-child"), vm("vm1"), moved], join(disks.dir, "pyvhdi.raw"));
    expect(child.sha256).toBe(sha256(expected["vm1-child"] as Buffer));
  });
});
