/**
 * The demo (root Pulumi.yaml) and examples/relative-adopt, each run under the real CLI the way the README tells a user
 * to: up, no changes, change the golden image, preview shows the planned replacements, up, destroy. Disks go to a
 * temp folder (stack config), so a user's own demo stack is never touched.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PulumiTestStack, REPO_ROOT } from "../support/pulumi-cli";
import { plannedSteps, vhdWrite } from "./e2e-support";

describe("the demo stack (npm run demo)", () => {
  let stack: PulumiTestStack;
  let folder: string;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), "vhd-demo-"));
    stack = await PulumiTestStack.create({ projectDir: REPO_ROOT, config: { disksFolder: folder } });
  });

  afterAll(async () => {
    try {
      await stack?.dispose();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("makes the golden image with the vhd CLI, two siblings and a chain of depth 3", async () => {
    const up = await stack.up();
    expect(up.code, up.output).toBe(0);
    const { disks } = (await stack.outputs()) as { disks: Record<string, { imagePath: string; chainDepth: number }> };
    expect(disks.appHotfix).toMatchObject({ imagePath: join(folder, "app", "hotfix.vhd"), chainDepth: 3 });
    expect(disks.web?.chainDepth).toBe(1);
    expect(disks.db?.chainDepth).toBe(1);
    const preview = await stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });

  it("after a write into the golden image, preview plans a replace of all five disks; up rebuilds them", async () => {
    vhdWrite(join(folder, "golden.vhd"), 0, Buffer.from("patched golden image"));
    const preview = await stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    const replaced = plannedSteps(preview.output).filter((step) => step.operation === "replace");
    expect(replaced.map((step) => step.name).sort(), preview.output).toEqual(["app", "app-hotfix", "app-patch", "db", "web"]);
    const up = await stack.up();
    expect(up.code, up.output).toBe(0);
    expect((await stack.preview(["--expect-no-changes"])).code).toBe(0);
  });

  it("destroy removes the disks and the golden image", async () => {
    const destroy = await stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    expect(readdirSync(folder).filter((name) => name.endsWith(".vhd"))).toEqual([]);
  });
});

describe("examples/relative-adopt", () => {
  let stack: PulumiTestStack;
  let folder: string;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), "vhd-relative-adopt-"));
    stack = await PulumiTestStack.create({ projectDir: join(REPO_ROOT, "examples", "relative-adopt"), config: { folder } });
  });

  afterAll(async () => {
    try {
      await stack?.dispose();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("adopts the existing disk and resolves relative paths against the other path's folder", async () => {
    const up = await stack.up();
    expect(up.code, up.output).toBe(0);
    const outputs = await stack.outputs();
    expect(outputs.legacyDisk).toMatchObject({ imagePath: join(folder, "legacy.vhd"), adopted: true });
    expect(outputs.freshDisk).toMatchObject({ imagePath: join(folder, "children", "fresh.vhd"), parentPath: join(folder, "base.vhd") });
    expect(outputs.stackedDisk).toMatchObject({ imagePath: join(folder, "stacked.vhd"), chainDepth: 2 });
    const preview = await stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
  });

  it("destroy removes every disk, the adopted one included", async () => {
    const destroy = await stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    for (const file of ["legacy.vhd", "stacked.vhd", join("children", "fresh.vhd"), "base.vhd"]) {
      expect(existsSync(join(folder, file))).toBe(false);
    }
  });
});
