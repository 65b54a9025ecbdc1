/**
 * End to end, real Pulumi CLI: two sibling disks in folders `up` creates (`new/vms/`). The folders belong to both:
 * destroying the disk that made them first (`destroy --target`) leaves them with the other disk, and the last destroy
 * takes them away, so nothing is left behind whichever disk goes last.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiskStack, filesLeft } from "./e2e-support";

let disks: DiskStack;
const folder = (): string => join(disks.dir, "new", "vms");

beforeAll(async () => {
  disks = await DiskStack.create("folders", (golden, dir) => [
    { name: "first", parentPath: golden, imagePath: join(dir, "new", "vms", "first.vhd") },
    { name: "second", parentPath: golden, imagePath: join(dir, "new", "vms", "second.vhd") },
  ]);
});

afterAll(async () => {
  await disks?.dispose();
});

describe("folders up created for sibling disks", () => {
  let maker = "";
  let other = "";

  it("up makes them for one of the disks", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    const resources = (await disks.stack.exportStack()).deployment.resources ?? [];
    const made = ["first", "second"].map((name) => [name, resources.find((resource) => resource.urn.endsWith(`::${name}`))?.outputs?.createdFolders] as const);
    const makers = made.filter(([, folders]) => Array.isArray(folders) && folders.length > 0);
    expect(makers.map(([, folders]) => folders)).toEqual([[join(disks.dir, "new"), folder()]]);
    maker = makers[0]?.[0] ?? "";
    other = maker === "first" ? "second" : "first";
  });

  it("destroying the disk that made them first leaves them, holding the other disk", async () => {
    const urn = ((await disks.stack.exportStack()).deployment.resources ?? []).find((resource) => resource.urn.endsWith(`::${maker}`))?.urn;
    const destroy = await disks.stack.destroy(["--target", urn ?? "missing"]);
    expect(destroy.code, destroy.output).toBe(0);
    expect(readdirSync(folder()).filter((name) => name.endsWith(".vhd"))).toEqual([`${other}.vhd`]);
  });

  it("the last destroy takes them away", async () => {
    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    expect(existsSync(join(disks.dir, "new"))).toBe(false);
    expect(filesLeft(disks.dir)).toEqual(["golden.vhd"]);
  });
});

/**
 * Disks in sibling folders under one new folder (`tree/x/a.vhd`, `tree/y/b.vhd`): one create makes `tree`, the other
 * finds it. `destroy` removes `tree` too, whichever disk's delete empties it.
 */
describe("a folder up created above the folders of two disks", () => {
  let tree: DiskStack;

  beforeAll(async () => {
    tree = await DiskStack.create("folders-tree", (golden, dir) => [
      { name: "x", parentPath: golden, imagePath: join(dir, "tree", "x", "a.vhd") },
      { name: "y", parentPath: golden, imagePath: join(dir, "tree", "y", "b.vhd") },
    ]);
  });

  afterAll(async () => {
    await tree?.dispose();
  });

  it("is gone after destroy", async () => {
    const up = await tree.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(readdirSync(join(tree.dir, "tree")).filter((name) => !name.startsWith(".")).sort()).toEqual(["x", "y"]);
    const destroy = await tree.stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    expect(filesLeft(tree.dir)).toEqual(["golden.vhd"]);
  });
});
