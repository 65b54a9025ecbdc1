/**
 * End to end, real Pulumi CLI, VHDX: a chain of depth 3 off a VHDX golden image (children made by the VHDX driver),
 * no changes on an untouched stack, a golden-image edit (which also gives the golden image a new DataWriteGuid, so the
 * children's parent_linkage no longer matches, by MS-VHDX §2.6.2.6.3) planning a replace of every descendant with
 * reasons, `up` rebuilding the chain off the edited golden image, and `destroy` leaving only the golden image. (A VM
 * write into a managed VHDX leaf is not tested here: it changes the leaf's DataWriteGuid, which the resource takes as
 * the disk's identity; README, known limits.)
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDisk } from "../../provider/disk/formats";
import { createFileAtomically } from "../../provider/storage/atomic-create";
import { localStorage } from "../../provider/storage/local/local-storage";
import { writeVhdxBase } from "../../provider/vhdx/writer";
import { changeKeepingSizeAndMtime, DiskStack, filesLeft, jsonSteps, sha256Of, vhdRead, vhdWrite } from "./e2e-support";

const MIB = 1024 * 1024;
let disks: DiskStack;
const path = (name: string): string => join(disks.dir, "vms", `${name}.vhdx`);

/** A 16 MiB dynamic VHDX (1 MiB blocks) with 64 KiB of data, written by `vhd write` as a user would. */
async function makeVhdxGolden(golden: string): Promise<void> {
  await createFileAtomically(golden, (file) => writeVhdxBase(file, { kind: "dynamic", virtualSize: 16 * MIB, blockSize: MIB }), {
    storage: localStorage,
  });
  vhdWrite(golden, 0, Buffer.alloc(64 * 1024, 0x5a));
}

async function uniqueIdOf(file: string): Promise<string> {
  const image = await openDisk(file);
  try {
    return image.uniqueId;
  } finally {
    await image.close();
  }
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
  it("up creates a VHDX chain of depth 3; parentUniqueId is the parent's DataWriteGuid, parentChecksum its SHA-256", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(await disks.outputsOf("c")).toMatchObject({ imagePath: path("c"), chainDepth: 3, chain: [path("b"), path("a"), disks.golden] });
    expect(await disks.outputsOf("a")).toMatchObject({
      parentChecksum: sha256Of(disks.golden),
      parentDiskType: "dynamic",
      parentUniqueId: await uniqueIdOf(disks.golden),
      uniqueId: await uniqueIdOf(path("a")),
    });
    expect((await disks.outputsOf("b")).parentUniqueId).toBe(await uniqueIdOf(path("a")));
    // The leaf reads the golden image's bytes through the chain.
    expect(vhdRead(path("c"), 0, 4096)).toEqual(Buffer.alloc(4096, 0x5a));
  });

  it("an untouched stack has no changes: preview and refresh pass --expect-no-changes", async () => {
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
    const refresh = await disks.stack.refresh(["--expect-no-changes"]);
    expect(refresh.code, refresh.output).toBe(0);
  });

  it("a golden-image edit keeping size and mtime plans a replace of every descendant; the child's reasons name the parent", async () => {
    const before = sha256Of(disks.golden);
    changeKeepingSizeAndMtime(disks.golden, 4096);
    expect(sha256Of(disks.golden)).not.toBe(before);
    const preview = await disks.stack.preview(["--json", "--show-replacement-steps"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = jsonSteps(preview.stdout);
    for (const name of ["a", "b", "c"]) {
      const ops = (steps.get(name) ?? []).map((step) => step.op);
      expect(ops, `${name}: ${preview.stdout}`).toContain("replace");
    }
    // The write gave the golden image a new DataWriteGuid as well as new bytes: both are reasons for `a`. `b` and
    // `c` are dependents of `a`'s delete-before-replace; their create-replacement steps carry the reasons of the diff
    // the engine asks with their parentPath unknown: the chain above their recorded parent no longer opens (the link
    // to the golden image's old DataWriteGuid), so the disks above it changed (ancestors).
    const reasonsOfA = (steps.get("a") ?? []).find((step) => step.op === "replace")?.replaceReasons ?? [];
    expect([...reasonsOfA].sort()).toEqual(["parentChecksum", "parentUniqueId"]);
    for (const name of ["b", "c"]) {
      const step = steps.get(name)?.find((candidate) => candidate.op === "create-replacement");
      expect([...(step?.replaceReasons ?? [])].sort(), name).toEqual(["ancestors", "parentPath"]);
    }
  });

  it("up rebuilds the chain at the same paths off the edited golden image, and the stack is clean again", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(await disks.outputsOf("c")).toMatchObject({ imagePath: path("c"), chainDepth: 3 });
    expect(await disks.outputsOf("a")).toMatchObject({ parentUniqueId: await uniqueIdOf(disks.golden), parentChecksum: sha256Of(disks.golden) });
    expect(vhdRead(path("c"), 4096, 512)).toEqual(Buffer.alloc(512, 0xc3));
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });

  it("destroy removes exactly the disks and never touches the golden image", async () => {
    const golden = sha256Of(disks.golden);
    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    expect(existsSync(join(disks.dir, "vms"))).toBe(false);
    expect(filesLeft(disks.dir)).toEqual(["golden.vhdx"]);
    expect(sha256Of(disks.golden)).toBe(golden);
  });
});
