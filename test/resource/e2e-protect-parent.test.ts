/**
 * End to end, real Pulumi CLI: `protectParent` keeps the golden image read-only while any disk that asked for it
 * exists, wherever that disk lives (here one next to a `vms` folder, one in another folder), and gives the write
 * permission back when the last one goes, as the README says.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { holdsRecordPath } from "../../provider/ops/protect-parent";
import { DiskStack, type DiskSpec, makeGoldenImage, vhdWrite } from "./e2e-support";

let disks: DiskStack;
let near: DiskSpec;
let far: DiskSpec;
const mode = (file: string): number => statSync(file).mode & 0o777;

beforeAll(async () => {
  disks = await DiskStack.create("protect", (golden, dir) => {
    near = { name: "near", parentPath: golden, imagePath: join(dir, "vms", "near.vhd"), protectParent: true };
    far = { name: "far", parentPath: golden, imagePath: join(dir, "elsewhere", "deep", "far.vhd"), protectParent: true };
    return [near, far];
  });
});

afterAll(async () => {
  await disks?.dispose();
});

describe("protectParent across folders under the real CLI", () => {
  it("up makes the golden image read-only for both disks", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(mode(disks.golden)).toBe(0o444);
  });

  it("deleting one disk leaves the parent read-only while the other, in another folder, exists", async () => {
    await disks.setDisks([far]);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(existsSync(near.imagePath)).toBe(false);
    expect(mode(disks.golden)).toBe(0o444);
  });

  it("deleting the last one gives the write permission back; no record and no folder of ours is left", async () => {
    await disks.setDisks([]);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(mode(disks.golden)).toBe(0o644);
    expect(existsSync(holdsRecordPath(disks.golden)), "the holds record").toBe(false);
    expect(existsSync(join(disks.dir, "vms")) || existsSync(join(disks.dir, "elsewhere")), "the folders create made").toBe(false);
  });
});

/**
 * A disk moved by hand and taken over at its new path (`adopt`, what the create error names) keeps its unique id, so
 * for one `up` the same disk is both the new resource's (adopted) and the old one's (deleted, already gone): the
 * delete lets go of the old path's hold only, and the parent stays read-only for the disk at its new path.
 */
describe.each(["golden.vhd", "golden.vhdx"])("protectParent of a disk moved by hand and adopted at its new path (%s)", (goldenName) => {
  let moving: DiskStack;
  let moved: DiskSpec;
  let other: DiskSpec;

  beforeAll(async () => {
    moving = await DiskStack.create("protect-moved", () => [], { name: goldenName, make: makeGoldenImage });
    const ext = extname(goldenName);
    moved = { name: "moved", parentPath: moving.golden, imagePath: join(moving.dir, "vms", `a${ext}`), protectParent: true };
    other = { name: "other", parentPath: moving.golden, imagePath: join(moving.dir, "elsewhere", `b${ext}`), protectParent: true };
    await moving.setDisks([moved, other]);
    const up = await moving.stack.up();
    expect(up.code, up.output).toBe(0);
  });

  afterAll(async () => {
    await moving?.dispose();
  });

  it("keeps the golden image read-only for the moved disk after the other holder goes", async () => {
    const newPath = join(moving.dir, "moved", basename(moved.imagePath));
    mkdirSync(dirname(newPath));
    renameSync(moved.imagePath, newPath);
    moved = { ...moved, imagePath: newPath, adopt: true };
    await moving.setDisks([moved, other]);
    const adopt = await moving.stack.up();
    expect(adopt.code, adopt.output).toBe(0);
    expect(mode(moving.golden)).toBe(0o444);

    await moving.setDisks([moved]);
    const up = await moving.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(existsSync(newPath)).toBe(true);
    expect(mode(moving.golden), "the moved disk still holds its parent").toBe(0o444);
  });
});

/**
 * Editing a protected golden image means making it writable first; a disk made anew on the edited image (the
 * replace) asks for protection again, also while another disk still holds the image (`up --target`, one disk at a
 * time), so the image is read-only again, and is given back the mode the user set once the last of them goes.
 */
describe("protectParent after the golden image was made writable and edited", () => {
  let edited: DiskStack;

  beforeAll(async () => {
    edited = await DiskStack.create("protect-edited", (golden, dir) => [
      { name: "one", parentPath: golden, imagePath: join(dir, "vms", "one.vhd"), protectParent: true },
      { name: "two", parentPath: golden, imagePath: join(dir, "elsewhere", "two.vhd"), protectParent: true },
    ]);
    const up = await edited.stack.up();
    expect(up.code, up.output).toBe(0);
  });

  afterAll(async () => {
    await edited?.dispose();
  });

  it("is read-only again once its disks are replaced, and no change is planned after", async () => {
    expect(mode(edited.golden)).toBe(0o444);
    chmodSync(edited.golden, 0o644);
    await vhdWrite(edited.golden, 0, Buffer.from("patched"));
    // One disk at a time, as `up --target` does: the other always holds the image meanwhile.
    const urn = ((await edited.stack.exportStack()).deployment.resources ?? []).find((resource) => resource.urn.endsWith("::one"))?.urn;
    const targeted = await edited.stack.up(["--target", urn ?? "missing"]);
    expect(targeted.code, targeted.output).toBe(0);
    expect(mode(edited.golden)).toBe(0o444);
    const up = await edited.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(up.stdout).toMatch(/1 replaced/);
    expect(mode(edited.golden)).toBe(0o444);
    const preview = await edited.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);

    await edited.setDisks([]);
    const destroy = await edited.stack.up();
    expect(destroy.code, destroy.output).toBe(0);
    expect(mode(edited.golden)).toBe(0o644);
  });
});
