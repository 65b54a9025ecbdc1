/**
 * The project-local Pulumi toolchain (`npm run toolchain`, scripts/pulumi-toolchain.sh) and the offline wrapper
 * (scripts/pulumi.sh), exercised for real: the built CLI, its Node.js language host, the dynamic-provider shim and
 * pulumi-resource-command deploy a TypeScript program on a file backend, with no network and no account.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PULUMI_BIN, PulumiTestStack, REPO_ROOT, TOOLS_BIN } from "../support/pulumi-cli";

const run = promisify(execFile);

/** Each CLI operation compiles the program with ts-node and starts plugins: minutes on a busy two-core machine. */
const DEPLOY_TIMEOUT_MS = 15 * 60 * 1000;

/** The versions pinned in package.json (and so in the toolchain script). */
const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
};

describe("the toolchain in .tools/bin", () => {
  it("has a pulumi that prints the pinned @pulumi/pulumi version", async () => {
    const { stdout } = await run(PULUMI_BIN, ["version"]);
    expect(stdout.trim()).toBe(`v${packageJson.dependencies["@pulumi/pulumi"]}`);
  });

  it("has every plugin the engine needs, executable", () => {
    for (const name of ["pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs", "pulumi-resource-command"]) {
      expect(statSync(join(TOOLS_BIN, name)).mode & 0o111, name).not.toBe(0);
    }
  });

  it("is not rebuilt nor reinstalled by a second run of the toolchain script", async () => {
    const before = statSync(PULUMI_BIN);
    const { stderr } = await run("bash", [join(REPO_ROOT, "scripts", "pulumi-toolchain.sh")]);
    expect(stderr).toMatch(/up to date/);
    const after = statSync(PULUMI_BIN);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });
});

describe("scripts/pulumi.sh", () => {
  it("points the CLI at the project's file backend by default, and lets the environment override it", async () => {
    const overridden = mkdtempSync(join(tmpdir(), "pulumi-vhd-backend-"));
    try {
      const wrapper = join(REPO_ROOT, "scripts", "pulumi.sh");
      const defaults = await run("bash", [wrapper, "whoami", "--verbose"], { env: withoutPulumiEnv() });
      expect(defaults.stdout).toContain(`Backend URL: file://${join(REPO_ROOT, ".pulumi-state")}`);
      const overrides = { PULUMI_BACKEND_URL: `file://${overridden}`, PULUMI_HOME: join(overridden, "home") };
      const custom = await run("bash", [wrapper, "whoami", "--verbose"], { env: { ...withoutPulumiEnv(), ...overrides } });
      expect(custom.stdout).toContain(`Backend URL: file://${overridden}`);
    } finally {
      rmSync(overridden, { recursive: true, force: true });
    }
  });
});

describe("a TypeScript program with a dynamic resource and a command.local.Command", () => {
  let stack: PulumiTestStack;
  let workDir: string;

  beforeAll(async () => {
    stack = await PulumiTestStack.create({ projectDir: join(__dirname, "program"), scratchConfigKey: "workDir" });
    workDir = stack.scratchDir;
  });

  afterAll(async () => {
    await stack?.dispose();
  });

  it("goes through up, preview and refresh without changes, and destroy", async () => {
    const up = await stack.up();
    expect(up.code, up.output).toBe(0);

    const content = "made by a dynamic provider\n";
    const outputs = await stack.outputs();
    expect(outputs).toEqual({
      markerPath: join(workDir, "marker.txt"),
      markerSha256: createHash("sha256").update(content).digest("hex"),
      greetingStdout: "hello from command.local",
    });
    expect(readFileSync(join(workDir, "marker.txt"), "utf8")).toBe(content);

    // The dynamic provider travels in the state as serialized code, loaded by the shim on every later operation.
    const exported = await stack.exportStack();
    const dynamic = exported.deployment.resources?.find((r) => r.type === "pulumi-nodejs:dynamic/toolchain:MarkerFile");
    expect(dynamic?.outputs?.["__provider"]).toEqual(expect.stringContaining("exports.handler"));

    const preview = await stack.preview(["--expect-no-changes", "--diff"]);
    expect(preview.code, preview.output).toBe(0);
    const refresh = await stack.refresh(["--expect-no-changes"]);
    expect(refresh.code, refresh.output).toBe(0);

    const destroy = await stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    expect(existsSync(join(workDir, "marker.txt"))).toBe(false);
    expect(existsSync(join(workDir, "command-deleted"))).toBe(true);
  }, DEPLOY_TIMEOUT_MS);

  it("sees drift on refresh: the dynamic provider's read runs in the shim", async () => {
    const up = await stack.up();
    expect(up.code, up.output).toBe(0);
    writeFileSync(join(workDir, "marker.txt"), "edited by hand\n");
    const refresh = await stack.refresh(["--expect-no-changes"]);
    expect(refresh.code, refresh.output).not.toBe(0);
    expect(refresh.output).toMatch(/no changes were expected/i);
  }, DEPLOY_TIMEOUT_MS);
});

/** This process's environment without PULUMI_* settings, so that the wrapper's defaults show. */
function withoutPulumiEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("PULUMI_")));
}
