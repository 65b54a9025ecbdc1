/**
 * The demo (root Pulumi.yaml), examples/relative-adopt and examples/remote-host (against a real sshd on loopback), each run under the real CLI the way the README tells a user
 * to: up, no changes, change the golden image, preview shows the planned replacements, up, destroy. Disks go to a
 * temp folder (stack config), so a user's own demo stack is never touched.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PulumiTestStack, REPO_ROOT } from "../support/pulumi-cli";
import { sshdUnavailable, startSshd, type TestSshd } from "../support/sshd";
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
    await vhdWrite(join(folder, "golden.vhd"), 0, Buffer.from("patched golden image"));
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

describe("examples/remote-host", () => {
  const unavailable = sshdUnavailable();
  let server: TestSshd | undefined;
  let stack: PulumiTestStack | undefined;

  beforeAll(async () => {
    if (unavailable !== undefined) return;
    server = await startSshd();
    const identityFile = join(server.dir, "example-key");
    writeFileSync(identityFile, server.privateKey, { mode: 0o600 });
    stack = await PulumiTestStack.create({
      projectDir: join(REPO_ROOT, "examples", "remote-host"),
      config: { host: server.host, port: String(server.port), user: server.user, identityFile, hostKey: server.hostKey, folder: server.root },
    });
  }, 60000);

  afterAll(async () => {
    try {
      await stack?.dispose();
    } finally {
      await server?.stop();
    }
  });

  it("makes the golden image and two disks on the host, ids naming it; no changes after; the key not in the state", async (context) => {
    if (unavailable !== undefined || stack === undefined || server === undefined) return context.skip(unavailable ?? "no stack");
    const up = await stack.up();
    expect(up.code, up.output).toBe(0);
    const hostUrl = `ssh://${server.user}@${server.host}:${server.port}`;
    const outputs = (await stack.outputs()) as { appDisk: { id: string; chain: string[]; chainDepth: number } };
    expect(outputs.appDisk).toMatchObject({
      id: `${hostUrl}${join(server.root, "vms", "app.vhd")}`,
      chain: [`${hostUrl}${join(server.root, "vms", "os.vhd")}`, `${hostUrl}${join(server.root, "golden.vhd")}`],
      chainDepth: 2,
    });
    expect(existsSync(join(server.root, "vms", "app.vhd"))).toBe(true);
    expect((await stack.preview(["--expect-no-changes"])).code).toBe(0);
    const exported = await stack.runChecked(["stack", "export", "--stack", stack.stackName]);
    const keyLine = server.privateKey.split("\n")[1] ?? "";
    expect(keyLine.length).toBeGreaterThan(20);
    expect(exported.stdout).not.toContain(keyLine);
  });

  it("destroy removes the two disks", async (context) => {
    if (unavailable !== undefined || stack === undefined || server === undefined) return context.skip(unavailable ?? "no stack");
    const destroy = await stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    expect(existsSync(join(server.root, "vms", "os.vhd")) || existsSync(join(server.root, "vms", "app.vhd"))).toBe(false);
  });
});
