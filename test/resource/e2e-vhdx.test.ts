/**
 * End to end, real Pulumi CLI, VHDX: a chain of depth 3 off a VHDX golden image (children made by the VHDX driver),
 * no changes on an untouched stack, a golden-image edit (which also gives the golden image a new DataWriteGuid, so the
 * children's parent_linkage no longer matches, by MS-VHDX §2.6.2.6.3) planning a replace of every descendant with
 * reasons, `up` rebuilding the chain off the edited golden image, and `destroy` leaving only the golden image. A VM
 * write into the managed leaf (`vhd write`) renews the leaf's DataWriteGuid but not its file id, which the resource
 * keeps as the disk it made: no change is planned, and the leaf is deleted by the next replace and by `destroy`. A
 * qemu-io write into the golden image (qemu's own log and header updates) plans the cascade with its reasons.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDisk } from "../../provider/disk/formats";
import { createFileAtomically } from "../../provider/storage/atomic-create";
import { localStorage } from "../../provider/storage/local/local-storage";
import { writeVhdxBase } from "../../provider/vhdx/writer";
import { HAVE } from "../vhdx/support";
import { runProcess } from "../support/run-process";
import { changeKeepingSizeAndMtime, DiskStack, filesLeft, jsonSteps, sha256Of, vhdRead, vhdWrite } from "./e2e-support";

const MIB = 1024 * 1024;
let disks: DiskStack;
const path = (name: string): string => join(disks.dir, "vms", `${name}.vhdx`);

/** A 16 MiB dynamic VHDX (1 MiB blocks) with 64 KiB of data, written by `vhd write` as a user would. */
async function makeVhdxGolden(golden: string): Promise<void> {
  await createFileAtomically(golden, (file) => writeVhdxBase(file, { kind: "dynamic", virtualSize: 16 * MIB, blockSize: MIB }), {
    storage: localStorage,
  });
  await vhdWrite(golden, 0, Buffer.alloc(64 * 1024, 0x5a));
}

/** The disk's linkage id (DataWriteGuid) and file id, read here. */
async function idsOf(file: string): Promise<{ uniqueId: string; fileId: string }> {
  const image = await openDisk(file);
  try {
    return { uniqueId: image.uniqueId, fileId: image.fileId };
  } finally {
    await image.close();
  }
}

async function uniqueIdOf(file: string): Promise<string> {
  return (await idsOf(file)).uniqueId;
}

/**
 * `preview --json --show-replacement-steps`: the operations planned for every disk, the reasons of `a`'s replace, and
 * those of `b`'s and `c`'s create-replacement steps (their logical replace carries none: README, known limits).
 */
async function previewCascade(): Promise<{
  reasonsOfA: string[];
  ops: Record<string, string[]>;
  dependentReasons: Record<string, string[]>;
}> {
  const preview = await disks.stack.preview(["--json", "--show-replacement-steps"]);
  expect(preview.code, preview.output).toBe(0);
  const steps = jsonSteps(preview.stdout);
  const ops = Object.fromEntries(["a", "b", "c"].map((name) => [name, (steps.get(name) ?? []).map((step) => step.op)]));
  const reasonsOf = (name: string, op: string): string[] =>
    [...((steps.get(name) ?? []).find((step) => step.op === op)?.replaceReasons ?? [])].sort();
  const dependentReasons = Object.fromEntries(["b", "c"].map((name) => [name, reasonsOf(name, "create-replacement")]));
  return { reasonsOfA: reasonsOf("a", "replace"), ops, dependentReasons };
}

beforeAll(async () => {
  disks = await DiskStack.create(
    "vhdx",
    (golden, dir) => [
      { name: "a", parentPath: golden, imagePath: join(dir, "vms", "a.vhdx") },
      { name: "b", parent: "a", imagePath: "b.vhdx" },
      { name: "c", parent: "b", imagePath: "c.vhdx" },
    ],
    { name: "golden.vhdx", make: makeVhdxGolden },
  );
});

afterAll(async () => {
  await disks?.dispose();
});

describe("DifferencingDisk with VHDX under the real CLI", () => {
  it("up creates a VHDX chain of depth 3; parentUniqueId is the parent's DataWriteGuid, uniqueId the disk's file id", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(await disks.outputsOf("c")).toMatchObject({ imagePath: path("c"), chainDepth: 3, chain: [path("b"), path("a"), disks.golden] });
    expect(await disks.outputsOf("a")).toMatchObject({
      parentChecksum: sha256Of(disks.golden),
      parentDiskType: "dynamic",
      parentUniqueId: await uniqueIdOf(disks.golden),
      uniqueId: (await idsOf(path("a"))).fileId,
    });
    expect((await disks.outputsOf("b")).parentUniqueId).toBe(await uniqueIdOf(path("a")));
    // The leaf reads the golden image's bytes through the chain.
    expect(await vhdRead(path("c"), 0, 4096)).toEqual(Buffer.alloc(4096, 0x5a));
  });

  it("an untouched stack has no changes: preview and refresh pass --expect-no-changes", async () => {
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
    const refresh = await disks.stack.refresh(["--expect-no-changes"]);
    expect(refresh.code, refresh.output).toBe(0);
  });

  it("a VM write into the leaf renews its DataWriteGuid, keeps its file id: preview and refresh plan no change", async () => {
    const before = await idsOf(path("c"));
    await vhdWrite(path("c"), 8192, Buffer.alloc(4096, 0x77));
    const after = await idsOf(path("c"));
    expect(after.uniqueId).not.toBe(before.uniqueId);
    expect(after.fileId).toBe(before.fileId);
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
    const refresh = await disks.stack.refresh(["--expect-no-changes"]);
    expect(refresh.code, refresh.output).toBe(0);
    expect((await disks.outputsOf("c")).uniqueId).toBe(before.fileId);
  });

  it("a golden-image edit keeping size and mtime plans a replace of every descendant; the child's reasons name the parent", async () => {
    const before = sha256Of(disks.golden);
    await changeKeepingSizeAndMtime(disks.golden, 4096);
    expect(sha256Of(disks.golden)).not.toBe(before);
    const { reasonsOfA, ops, dependentReasons } = await previewCascade();
    for (const name of ["a", "b", "c"]) expect(ops[name], name).toContain("replace");
    // The write gave the golden image a new DataWriteGuid as well as new bytes: both are reasons for `a`. `b` and
    // `c` are dependents of `a`'s delete-before-replace; their create-replacement steps carry the reasons of the diff
    // the engine asks with their parentPath unknown: the chain above their recorded parent no longer opens (the link
    // to the golden image's old DataWriteGuid), so the disks above it changed (ancestors).
    expect(reasonsOfA).toEqual(["parentChecksum", "parentUniqueId"]);
    for (const name of ["b", "c"]) expect(dependentReasons[name], name).toEqual(["ancestors", "parentPath"]);
  });

  it("up rebuilds the chain at the same paths off the edited golden image; with a VM write into the new leaf, the stack is clean", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(await disks.outputsOf("c")).toMatchObject({ imagePath: path("c"), chainDepth: 3 });
    expect(await disks.outputsOf("a")).toMatchObject({ parentUniqueId: await uniqueIdOf(disks.golden), parentChecksum: sha256Of(disks.golden) });
    expect(await vhdRead(path("c"), 4096, 512)).toEqual(Buffer.alloc(512, 0xc3));
    await vhdWrite(path("c"), 0, Buffer.alloc(4096, 0x42));
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });

  it("a qemu-io write into the golden image (an allocated block: same size) plans the same cascade with its reasons", async (ctx) => {
    if (!HAVE.qemuIo) ctx.skip("qemu-io (qemu-utils) is not installed here");
    const before = await idsOf(disks.golden);
    const qemu = await runProcess("qemu-io", ["-f", "vhdx", "-c", "write -P 0x3c 8k 4k", disks.golden]);
    expect(qemu.status, qemu.stderr.toString("utf8")).toBe(0);
    const after = await idsOf(disks.golden);
    expect(after.uniqueId).not.toBe(before.uniqueId);
    expect(after.fileId).toBe(before.fileId);
    const { reasonsOfA, ops } = await previewCascade();
    for (const name of ["a", "b", "c"]) expect(ops[name], name).toContain("replace");
    expect(reasonsOfA).toEqual(["parentChecksum", "parentUniqueId"]);
  });

  it("destroy removes exactly the disks, the leaf a VM wrote into among them, and never touches the golden image", async () => {
    const golden = sha256Of(disks.golden);
    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    expect(existsSync(join(disks.dir, "vms"))).toBe(false);
    expect(filesLeft(disks.dir)).toEqual(["golden.vhdx"]);
    expect(sha256Of(disks.golden)).toBe(golden);
  });
});
