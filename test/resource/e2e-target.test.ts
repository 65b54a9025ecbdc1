/**
 * End to end, real Pulumi CLI: `up --target` of a parent after a golden-image change. The engine also replaces the
 * child it does not target (a dependent of a delete-before-replace), creating it from the child's old inputs. What
 * the child records must be the parent it was really made on, so the next plain `up` has nothing to do and what a VM
 * writes into the child meanwhile survives, also in a child that keeps its disk across parent edits (`ignoreChanges`),
 * whose stored inputs are then the old plan's.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unlinkedSha256 } from "../../provider/vhd/unlinked-checksum";
import { chainOfTwo, type DiskSpec, DiskStack, sha256Of, vhdRead, vhdWrite } from "./e2e-support";

let disks: DiskStack;
const path = (name: string): string => join(disks.dir, "vms", `${name}.vhd`);
const vmData = Buffer.alloc(8192, 0x6b);

/** `a` -> `b` and `kept`, a second child of `a` that ignores changes of its parent's checksum and size. */
function specs(golden: string, dir: string): DiskSpec[] {
  const options = { ignoreChanges: ["parentChecksum", "parentSize"] };
  return [...chainOfTwo(golden, dir), { name: "kept", parent: "a", imagePath: "kept.vhd", options }];
}

beforeAll(async () => {
  disks = await DiskStack.deployed("target", specs);
});

afterAll(async () => {
  await disks?.dispose();
});

describe("up --target after a golden-image change", () => {
  it("replaces the targeted parent and its dependent, which records the files it was made on", async () => {
    await vhdWrite(disks.golden, 8192, Buffer.alloc(4096, 0x11));
    const urn = (await disks.stack.exportStack()).deployment.resources?.find((r) => r.urn.endsWith("::a"))?.urn;
    expect(urn).toBeDefined();
    const up = await disks.stack.up(["--target", urn as string]);
    expect(up.code, up.output).toBe(0);
    const b = await disks.outputsOf("b");
    // a is a differencing disk: b records its unlinked checksum (the parent link left out), of the new a.
    expect(b.parentChecksum).toBe((await unlinkedSha256(path("a"))).checksum);
    expect((await disks.stack.exportStack()).deployment.resources?.find((r) => r.urn.endsWith("::b"))?.outputs).toMatchObject({
      ancestors: { [disks.golden]: { checksum: sha256Of(disks.golden) } },
    });
  });

  it("the next preview has nothing to do, and what a VM wrote into the children survives the next up", async () => {
    const uniqueIds = new Map<string, unknown>();
    for (const name of ["b", "kept"]) {
      await vhdWrite(path(name), 0, vmData);
      uniqueIds.set(name, (await disks.outputsOf(name)).uniqueId);
    }
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    for (const [name, uniqueId] of uniqueIds) {
      expect((await disks.outputsOf(name)).uniqueId).toBe(uniqueId);
      expect((await vhdRead(path(name), 0, vmData.length)).equals(vmData)).toBe(true);
    }
  });
});
