/**
 * End to end, real Pulumi CLI: refresh of a disk deleted or replaced outside Pulumi, and delete safety (exactly the
 * disk we made; never while another VHD in its folder uses it as parent).
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { inspectDisk } from "../../provider/disk/inspect";
import { chainOfTwo, DiskStack, plannedSteps } from "./e2e-support";

let disks: DiskStack;
const path = (name: string): string => join(disks.dir, "vms", `${name}.vhd`);

beforeAll(async () => {
  disks = await DiskStack.deployed("refresh", chainOfTwo);
});

afterAll(async () => {
  await disks?.dispose();
});

describe("refresh and delete under the real CLI", () => {
  it("a disk deleted outside Pulumi leaves the state on refresh, and the next up recreates it", async () => {
    rmSync(path("b"));
    const refresh = await disks.stack.refresh();
    expect(refresh.code, refresh.output).toBe(0);
    const resources = (await disks.stack.exportStack()).deployment.resources ?? [];
    expect(resources.some((resource) => resource.urn.endsWith("::b"))).toBe(false);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(existsSync(path("b"))).toBe(true);
  });

  it("a disk replaced by another file shows as a replace; delete then refuses and leaves that file", async () => {
    rmSync(path("b"));
    const impostor = await createDifferencingDisk({ imagePath: path("b"), parentPath: path("a") });
    const refresh = await disks.stack.refresh();
    expect(refresh.code, refresh.output).toBe(0);
    const preview = await disks.stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    expect(plannedSteps(preview.output).map((step) => [step.name, step.operation]), preview.output).toEqual([["b", "replace"]]);
    const up = await disks.stack.up();
    expect(up.code, up.output).not.toBe(0);
    expect(up.output).toMatch(/ERROR_ACCESS_DENIED \(0x80070005\): imagePath ".*b\.vhd": the file is not the disk this resource created/);
    expect((await inspectDisk(path("b"))).uniqueId).toBe(impostor.uniqueId);
    // Moving the foreign file away is the way out the message names.
    rmSync(path("b"));
    const again = await disks.stack.up();
    expect(again.code, again.output).toBe(0);
  });

  it("destroy refuses, naming it, while another VHD in the folder uses a disk as parent", async () => {
    const foreign = join(disks.dir, "vms", "foreign-child.vhd");
    await createDifferencingDisk({ imagePath: foreign, parentPath: path("b") });
    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).not.toBe(0);
    expect(destroy.output).toMatch(/ERROR_SHARING_VIOLATION \(0x80070020\): imagePath ".*b\.vhd": the disk is still the parent of .*foreign-child\.vhd/);
    expect(existsSync(path("b"))).toBe(true);
    expect(existsSync(path("a"))).toBe(true);
    rmSync(foreign);
    const retry = await disks.stack.destroy();
    expect(retry.code, retry.output).toBe(0);
    expect(existsSync(path("a"))).toBe(false);
  });
});
