/**
 * End to end, real Pulumi CLI: a named pipe (FIFO) at imagePath is a file that is not the disk the resource made, like
 * random bytes (e2e-foreign-files): the preview plans a replace, refresh records it, `up` and `destroy` refuse with
 * `ERROR_ACCESS_DENIED`. None of them may wait on the pipe: opening a FIFO for reading blocks until a writer comes,
 * so a look at it that opens first hangs `pulumi preview` for good. A sibling in the same folder, whose delete looks
 * at every other file there for a child of it, is deleted without waiting on the pipe either.
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiskStack, jsonSteps, vhdRead, vhdWrite } from "./e2e-support";

let disks: DiskStack;
const path = (name: string): string => join(disks.dir, "vms", `${name}.vhd`);
const written = Buffer.alloc(64 * 1024, 0x3c);

/** A stack frame as Node prints it, or the error class name a raw `${error}` prints. */
const STACK_TRACE = /^\s+at .+:\d+:\d+\)?$|VhdError:/m;

beforeAll(async () => {
  disks = await DiskStack.create("fifo", (golden, dir) => [
    { name: "a", parentPath: golden, imagePath: join(dir, "vms", "a.vhd") },
    { name: "s", parentPath: golden, imagePath: join(dir, "vms", "s.vhd") },
  ]);
  const up = await disks.stack.up();
  expect(up.code, up.output).toBe(0);
  await vhdWrite(path("s"), 1024 * 1024, written);
  rmSync(path("a"));
  execFileSync("mkfifo", [path("a")]);
});

afterAll(async () => {
  await disks?.dispose();
});

const isFifo = (): boolean => lstatSync(path("a")).isFIFO();

describe("a named pipe at imagePath, under the real CLI", () => {
  it("preview plans a's replace with its reason and nothing for s, without waiting on the pipe", async () => {
    const preview = await disks.stack.preview(["--json"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = jsonSteps(preview.stdout);
    expect(steps.get("a")?.map((step) => [step.op, step.replaceReasons]), preview.output).toEqual([["replace", ["imagePath"]]]);
    expect(steps.get("s")?.map((step) => step.op) ?? ["same"], preview.output).toEqual(["same"]);
  });

  it("refresh records it as not a VHD", async () => {
    const refresh = await disks.stack.refresh();
    expect(refresh.code, refresh.output).toBe(0);
    const a = (await disks.stack.exportStack()).deployment.resources?.find((resource) => resource.urn.endsWith("::a"));
    expect(a?.outputs).toMatchObject({ foundUniqueId: null });
  });

  it("up and destroy refuse to touch it in one clean line; s goes, its data read until then; moved away, a goes", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).not.toBe(0);
    expect(up.output).toMatch(/ERROR_ACCESS_DENIED \(0x80070005\): imagePath ".*a\.vhd": the file is not the disk this resource created \(it is not a virtual disk: it is not a regular file: a named pipe/);
    expect(up.output).not.toMatch(STACK_TRACE);
    expect(isFifo()).toBe(true);
    expect(await vhdRead(path("s"), 1024 * 1024, written.length)).toEqual(written);

    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).not.toBe(0);
    expect(destroy.output).toMatch(/pulumi-vhd: ERROR_ACCESS_DENIED \(0x80070005\): imagePath ".*a\.vhd"/);
    expect(destroy.output).not.toMatch(STACK_TRACE);
    expect(isFifo()).toBe(true);
    expect(existsSync(path("s")), "s, beside the pipe, is deleted").toBe(false);

    rmSync(path("a"));
    const again = await disks.stack.destroy();
    expect(again.code, again.output).toBe(0);
    expect(existsSync(join(disks.dir, "vms")), "the folder create made is gone too").toBe(false);
  });
});
