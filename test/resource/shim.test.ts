/**
 * The serialized provider is a thin shim: small, no captured natives, and its only `require` is the implementation
 * by package name, so that destroy/refresh of old state run the installed code. Tested on the built package (what a
 * program loads), with Pulumi's own serializer.
 */
import { mkdtempSync, rmSync } from "node:fs";
import Module from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import type { differencingDiskProvider as ShimProvider } from "../../provider/resource/shim";

const REPO = join(__dirname, "..", "..");
const built = require(join(REPO, "provider", "dist", "resource", "shim.js")) as { differencingDiskProvider: typeof ShimProvider };

async function serialized(): Promise<string> {
  const result = await pulumi.runtime.serializeFunction(() => built.differencingDiskProvider, { allowSecrets: true });
  return result.text;
}

/** Loads serialized text the way the dynamic-provider plugin does (a module compiled from a string in `cwd`). */
function load(text: string, cwd: string): pulumi.dynamic.ResourceProvider {
  const filename = join(cwd, "__provider.js");
  const module = new Module(filename);
  module.filename = filename;
  module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(cwd);
  (module as unknown as { _compile(code: string, file: string): void })._compile(text, filename);
  return (module.exports as { handler: () => pulumi.dynamic.ResourceProvider }).handler();
}

describe("serialized provider", () => {
  it("is a few KB with no captured natives and exactly one require: the implementation by package name", async () => {
    const text = await serialized();
    expect(text.length).toBeLessThan(4096);
    expect(text).not.toMatch(/\[native code\]|__pulumi|node_modules|\/work\//);
    const requires = [...text.matchAll(/require\(([^)]*)\)/g)].map((match) => match[1]);
    expect(requires).toEqual(['"pulumi-vhd/dist/resource/provider"']);
  });

  it("runs the installed implementation when loaded from the project folder", async () => {
    const provider = load(await serialized(), REPO);
    const result = await provider.check?.({}, { imagePath: "a.vhd", parentPath: "b.vhd" });
    expect(result?.failures).toEqual([
      { property: "imagePath", reason: expect.stringMatching(/^ERROR_BAD_PATHNAME \(0x800700A1\): imagePath "a\.vhd"/) },
    ]);
    expect(Object.keys(provider).sort()).toEqual(["check", "create", "delete", "diff", "read", "update"]);
  });

  it("without pulumi-vhd installed where it runs, fails in one line that says to install it", async (ctx) => {
    const elsewhere = mkdtempSync(join(tmpdir(), "vhd-no-package-"));
    ctx.onTestFinished(() => rmSync(elsewhere, { recursive: true, force: true }));
    const provider = load(await serialized(), elsewhere);
    const error = await provider.delete?.("/vms/a.vhd", {}).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    // What the dynamic-provider server prints for a failed delete: one line, no frames.
    const printed = `${String(error)}: ${(error as Error).stack}`;
    expect(printed).toMatch(/^pulumi-vhd: the DifferencingDisk provider cannot load the package pulumi-vhd from .*Cannot find module 'pulumi-vhd\/dist\/resource\/provider'.*install it in the Pulumi project \(`npm install pulumi-vhd`\)/);
    expect(printed).not.toContain("\n");
  });
});
