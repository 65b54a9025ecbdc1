/**
 * End to end, real Pulumi CLI: the preview plans against the world as it will be after the earlier steps of the same
 * run. A parent file that an earlier step makes (a moved parent, a mid-chain disk deleted by hand and dropped by
 * refresh) is a planned replace with its reason, not an error; a parent that is really missing when `up` runs fails
 * create with the contract's error, and the disk below it is left as it was, data included.
 */
import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DiskSpec, DiskStack, jsonSteps, makeGoldenImage, vhdRead, vhdWrite } from "./e2e-support";

let disks: DiskStack;
let spare: string;
const path = (name: string): string => join(disks.dir, "vms", `${name}.vhd`);
const vmData = Buffer.alloc(4096, 0x3c);

/** a -> b -> c off the golden image, and d off a second base disk given as a plain path. */
function fleet(golden: string, dir: string, aPath = join(dir, "vms", "a.vhd")): DiskSpec[] {
  return [
    { name: "a", parentPath: golden, imagePath: aPath },
    { name: "b", parent: "a", imagePath: join(dir, "vms", "b.vhd") },
    { name: "c", parent: "b", imagePath: join(dir, "vms", "c.vhd") },
    { name: "d", parentPath: join(dir, "spare.vhd"), imagePath: join(dir, "vms", "d.vhd") },
  ];
}

/** The planned operation and replace reasons of each disk in `pulumi preview --json`. */
async function plan(): Promise<Record<string, [string, string[] | null | undefined]>> {
  const preview = await disks.stack.preview(["--json"]);
  expect(preview.code, preview.output).toBe(0);
  const plan: Record<string, [string, string[] | null | undefined]> = {};
  for (const [name, [step]] of jsonSteps(preview.stdout)) if (step !== undefined) plan[name] = [step.op, step.replaceReasons];
  return plan;
}

beforeAll(async () => {
  disks = await DiskStack.create("plan-ahead", fleet);
  spare = join(disks.dir, "spare.vhd");
  await makeGoldenImage(spare);
  const up = await disks.stack.up();
  expect(up.code, up.output).toBe(0);
});

afterAll(async () => {
  await disks?.dispose();
});

describe("plans against the world as it will be", () => {
  it("a parent really missing: the preview plans a replace; up fails with ERROR_PATH_NOT_FOUND and keeps the disk", async () => {
    await vhdWrite(path("d"), 0, vmData);
    renameSync(spare, `${spare}.away`);
    expect((await plan()).d).toEqual(["replace", ["parentPath"]]);
    const up = await disks.stack.up();
    expect(up.code).not.toBe(0);
    expect(up.output).toMatch(/ERROR_PATH_NOT_FOUND \(0x80070003\): parentPath "[^"]*spare\.vhd"/);
    renameSync(`${spare}.away`, spare);
    expect((await vhdRead(path("d"), 0, vmData.length)).equals(vmData)).toBe(true);
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });

  it("a mid-chain disk deleted by hand and dropped by refresh: the preview plans it and its child, up makes both", async () => {
    rmSync(path("b"));
    const refresh = await disks.stack.refresh();
    expect(refresh.code, refresh.output).toBe(0);
    const planned = await plan();
    expect(planned.b?.[0]).toBe("create");
    expect(planned.c).toEqual(["replace", ["parentPath"]]);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(existsSync(path("b"))).toBe(true);
    expect((await disks.outputsOf("c")).chain).toEqual([path("b"), path("a"), disks.golden]);
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });

  it("a moved parent: the preview plans the move and replaces every disk below it, as up then does", async () => {
    const moved = join(disks.dir, "moved", "a.vhd");
    await disks.setDisks(fleet(disks.golden, disks.dir, moved));
    const planned = await plan();
    expect(planned.a).toEqual(["replace", ["imagePath"]]);
    expect(planned.b).toEqual(["replace", ["parentPath"]]);
    expect(planned.c?.[0]).toBe("replace");
    expect(planned.d).toBeUndefined();
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(existsSync(path("a"))).toBe(false);
    expect((await disks.outputsOf("c")).chain).toEqual([path("b"), moved, disks.golden]);
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });
});
