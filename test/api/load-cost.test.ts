/**
 * What a process loads before it does its work (issue 11): the provider plugin loads the provider module on its first
 * call, and `vhd` its command. Each is one file the build bundles (scripts/bundle.sh), so Node.js resolves, reads and
 * compiles one module where it did about a hundred; neither loads the SSH client (ssh2 and its crypto, about 30
 * modules) for disks on this machine: it is loaded on the first dial of a remote host. The bundles' source maps still
 * give TypeScript positions under `node --enable-source-maps`.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { CLI_MAIN, REPO_ROOT } from "../cli/cli-process";

const PROVIDER_MODULE = join(REPO_ROOT, "provider/dist/resource/provider.js");
const PACKAGE_JSON = join(REPO_ROOT, "provider/package.json");

/** A preload that prints, at exit, every module file the process loaded, one per line, on stderr. */
const LIST_MODULES = `process.on("exit", () => process.stderr.write(Object.keys(require.cache).join("\\n")));`;

/** Runs the statements `args` in a Node.js process (with `flags`), in the project folder; its stdout and stderr. */
function runNode(args: readonly string[], flags: readonly string[] = []): { stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...flags, "-e", args.join("\n")], { cwd: REPO_ROOT, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`node exited with ${result.status}: ${result.stderr}`);
  return { stdout: result.stdout, stderr: result.stderr };
}

/** The module files a Node.js process loaded running the statements `args`. */
function modulesLoaded(args: readonly string[]): string[] {
  return runNode([LIST_MODULES, ...args]).stderr.split("\n").filter((line) => line.startsWith("/"));
}

/** The statements that run `vhd` with `args` as its command line. */
const vhd = (...args: string[]): string[] => [
  `process.argv = ${JSON.stringify([CLI_MAIN, ...args])};`,
  `process.argv.unshift(process.execPath);`,
  `require(${JSON.stringify(CLI_MAIN)});`,
];

describe("modules loaded before the work starts", () => {
  it("the provider module, as the plugin's first call loads it, is one file: no dependency, no SSH client", () => {
    expect(modulesLoaded([`require(${JSON.stringify(PROVIDER_MODULE)});`])).toEqual([PROVIDER_MODULE]);
  });

  it("`vhd read` is one file and the package's version: no dependency, no SSH client", () => {
    expect(modulesLoaded(vhd("read", "--help")).sort()).toEqual([CLI_MAIN, PACKAGE_JSON].sort());
  });

  it("the provider module's stack traces give TypeScript positions under --enable-source-maps", () => {
    // diff without state (which the engine never sends) fails inside the provider: its stack names the sources.
    const { stdout } = runNode(
      [`require(${JSON.stringify(PROVIDER_MODULE)}).diff("id", null, null).catch((e) => console.log(e.stack));`],
      ["--enable-source-maps"],
    );
    expect(stdout).toMatch(/^TypeError: /);
    expect(stdout).toContain(`(${join(REPO_ROOT, "provider/resource/provider.ts")}:`);
  });

  it("the `vhd` bundle's source map leads back to each command's TypeScript file", () => {
    // Where the bundle defines registerRead, and where its map says that came from (what a stack frame there shows).
    const { stdout } = runNode(
      [
        ...vhd("--version"),
        `const lines = require("node:fs").readFileSync(${JSON.stringify(CLI_MAIN)}, "utf8").split("\\n");`,
        `const line = lines.findIndex((text) => text.startsWith("function registerRead("));`,
        `const map = require("node:module").findSourceMap(${JSON.stringify(CLI_MAIN)});`,
        `console.log(JSON.stringify(map.findEntry(line, "function ".length)));`,
      ],
      ["--enable-source-maps"],
    );
    const mapped = stdout.split("\n").find((line) => line.startsWith("{")) ?? "";
    const entry = JSON.parse(mapped) as { originalSource: string; originalLine: number };
    expect(entry.originalSource).toBe(pathToFileURL(join(REPO_ROOT, "provider/cli/commands/read.ts")).href);
    expect(entry.originalLine).toBeGreaterThan(0);
  });
});
