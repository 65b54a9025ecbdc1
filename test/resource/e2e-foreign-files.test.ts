/**
 * End to end, real Pulumi CLI: any file at imagePath that is not the disk the resource made is handled the same way,
 * whatever its content (random bytes here; another VHD in e2e-refresh-delete): the preview plans a replace even before
 * a refresh, refresh notices, `up` refuses to delete it with `ERROR_ACCESS_DENIED` and says what to do, `destroy` has
 * a way out; every error is one clean line, never a stack trace.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiskStack, plannedSteps } from "./e2e-support";

let disks: DiskStack;
const path = (name: string): string => join(disks.dir, "vms", `${name}.vhd`);
const garbage = randomBytes(64 * 1024);

/** A stack frame as Node prints it, or the error class name a raw `${error}` prints. */
const STACK_TRACE = /^\s+at .+:\d+:\d+\)?$|VhdError:/m;

beforeAll(async () => {
  disks = await DiskStack.create("foreign", (golden, dir) => [
    { name: "a", parentPath: golden, imagePath: join(dir, "vms", "a.vhd") },
  ]);
  const up = await disks.stack.up();
  expect(up.code, up.output).toBe(0);
  writeFileSync(path("a"), garbage);
});

afterAll(async () => {
  await disks?.dispose();
});

describe("a file that is not a VHD at imagePath, under the real CLI", () => {
  it("preview plans a replace without a refresh", async () => {
    const preview = await disks.stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    expect(plannedSteps(preview.output).map((step) => [step.name, step.operation]), preview.output).toEqual([["a", "replace"]]);
  });

  it("refresh notices it: no error, and the state says the file there is not a VHD", async () => {
    const refresh = await disks.stack.refresh();
    expect(refresh.code, refresh.output).toBe(0);
    expect(refresh.output).not.toMatch(STACK_TRACE);
    const a = (await disks.stack.exportStack()).deployment.resources?.find((resource) => resource.urn.endsWith("::a"));
    expect(a?.outputs).toMatchObject({ foundUniqueId: null });
  });

  it("up refuses to delete it, in one clean line that says what to do, and leaves it as it was", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).not.toBe(0);
    expect(up.output).toMatch(
      /ERROR_ACCESS_DENIED \(0x80070005\): imagePath ".*a\.vhd": the file is not the disk this resource created \(it is not a virtual disk: .*\).*Move it away and retry, or drop the resource from the state with `pulumi state delete/,
    );
    expect(up.output).not.toMatch(STACK_TRACE);
    expect(readFileSync(path("a"))).toEqual(garbage);
  });

  it("destroy refuses the same way; moving the file away, as the message says, lets it finish", async () => {
    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).not.toBe(0);
    expect(destroy.output).toMatch(/pulumi-vhd: ERROR_ACCESS_DENIED \(0x80070005\): imagePath ".*a\.vhd": the file is not the disk/);
    expect(destroy.output).not.toMatch(STACK_TRACE);
    expect(readFileSync(path("a"))).toEqual(garbage);
    rmSync(path("a"));
    const again = await disks.stack.destroy();
    expect(again.code, again.output).toBe(0);
    expect(existsSync(join(disks.dir, "vms")), "the folder create made is gone too").toBe(false);
  });
});
