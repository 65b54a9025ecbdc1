/**
 * What a process loads before it does its work (issue 11): the provider plugin loads the provider module on its first
 * call, and `vhd read` loads only its own subcommand. Neither may load the SSH client (ssh2 and its crypto, about 30
 * modules) for disks on this machine: it is loaded on the first dial of a remote host.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI_MAIN, REPO_ROOT } from "../cli/cli-process";

/** A preload that prints, at exit, every module file the process loaded, one per line, on stderr. */
const LIST_MODULES = `process.on("exit", () => process.stderr.write(Object.keys(require.cache).join("\\n")));`;

/** The module files a Node.js process loaded running the statements `args`, in the project folder. */
function modulesLoaded(args: readonly string[]): string[] {
  const result = spawnSync(process.execPath, ["-e", `${LIST_MODULES}\n${args.join("\n")}`], { cwd: REPO_ROOT, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`node exited with ${result.status}: ${result.stderr}`);
  return result.stderr.split("\n").filter((line) => line.startsWith("/"));
}

const sshClient = (modules: string[]): string[] => modules.filter((file) => /[\\/]node_modules[\\/](ssh2|asn1|bcrypt-pbkdf|tweetnacl)[\\/]/.test(file));

describe("modules loaded before the work starts", () => {
  it("the provider module, as the plugin's first call loads it, loads no SSH client", () => {
    const modules = modulesLoaded([`require(${JSON.stringify(join(REPO_ROOT, "provider/dist/resource/provider.js"))});`]);
    expect(modules.some((file) => file.endsWith(join("resource", "provider.js")))).toBe(true);
    expect(sshClient(modules)).toEqual([]);
  });

  it("`vhd read` loads its own subcommand only, and no SSH client", () => {
    const modules = modulesLoaded([
      `process.argv = [process.argv[0], ${JSON.stringify(CLI_MAIN)}, "read", "--help"];`,
      `require(${JSON.stringify(CLI_MAIN)});`,
    ]);
    const commands = modules.filter((file) => file.includes(join("dist", "cli", "commands"))).map((file) => file.split(/[\\/]/).pop());
    expect(commands).toEqual(["read.js"]);
    expect(sshClient(modules)).toEqual([]);
  });
});
