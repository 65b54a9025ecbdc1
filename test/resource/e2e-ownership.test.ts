/**
 * End to end, real Pulumi CLI: one disk, one owner. A second resource adopting a disk another resource already manages
 * is refused with the owner's URN, and deleting it can then never remove the other's disk; the owner's destroy removes
 * the disk and its ownership record, leaving nothing behind. A symbolic link to the disk is no second way in: its
 * ownership record would sit beside the link, so adopting through it is refused.
 */
import { existsSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { inspectDisk } from "../../provider/disk/inspect";
import { DiskStack, type DiskSpec } from "./e2e-support";

let disks: DiskStack;
let shared: string;
let sharedId: string;
const spec = (name: string): DiskSpec => ({ name, parentPath: disks.golden, imagePath: shared, adopt: true });

beforeAll(async () => {
  disks = await DiskStack.create("owner", () => []);
  shared = join(disks.dir, "vms", "shared.vhd");
  sharedId = (await createDifferencingDisk({ imagePath: shared, parentPath: disks.golden })).uniqueId;
});

afterAll(async () => {
  await disks?.dispose();
});

describe("one disk, one owner, under the real CLI", () => {
  it("the first resource adopts the disk", async () => {
    await disks.setDisks([spec("first")]);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(await disks.outputsOf("first")).toMatchObject({ adopted: true, uniqueId: sharedId });
  });

  it("a second resource adopting the same disk is refused, naming the owner; nothing changes on disk", async () => {
    await disks.setDisks([spec("first"), spec("second")]);
    const up = await disks.stack.up();
    expect(up.code, up.output).not.toBe(0);
    expect(up.output).toMatch(
      /ERROR_ALREADY_EXISTS \(0x800700B7\): imagePath ".*shared\.vhd": the disk there is managed by another resource, urn:pulumi:[^ ]*::first /,
    );
    const names = ((await disks.stack.exportStack()).deployment.resources ?? []).map((resource) => resource.urn.split("::").pop());
    expect(names).toContain("first");
    expect(names).not.toContain("second");
    expect((await inspectDisk(shared)).uniqueId).toBe(sharedId);
  });

  it("a second resource adopting the disk through a symbolic link to it is refused; the owner's disk stays", async () => {
    const alias = join(disks.dir, "vms", "alias.vhd");
    symlinkSync("shared.vhd", alias);
    try {
      await disks.setDisks([spec("first"), { ...spec("alias"), imagePath: alias }]);
      const up = await disks.stack.up();
      expect(up.code, up.output).not.toBe(0);
      expect(up.output).toMatch(/ERROR_ALREADY_EXISTS \(0x800700B7\): imagePath ".*alias\.vhd": .*symbolic link/);
      const names = ((await disks.stack.exportStack()).deployment.resources ?? []).map((resource) => resource.urn.split("::").pop());
      expect(names).not.toContain("alias");
      expect(existsSync(join(disks.dir, "vms", ".alias.vhd.pulumi-vhd-owner"))).toBe(false);
      expect((await inspectDisk(shared)).uniqueId).toBe(sharedId);
    } finally {
      rmSync(alias);
    }
  });

  it("the owner's destroy removes the disk and its record, and nothing else is left", async () => {
    await disks.setDisks([spec("first")]);
    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    expect(existsSync(shared)).toBe(false);
    expect(readdirSync(join(disks.dir, "vms"))).toEqual([]);
  });
});
