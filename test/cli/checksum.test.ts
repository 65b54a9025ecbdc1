import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN, expectOneLineError, makeTempDir, runVhd, runVhdOk } from "./cli-process";
import { runProcess } from "../support/run-process";

describe("vhd checksum", () => {
  const temp = makeTempDir("checksum");
  const file = join(temp.dir, "data.bin");
  beforeAll(() => {
    // Not a multiple of the checksum's read size, so the last short read is covered.
    writeFileSync(file, randomBytes(9 * 1024 * 1024 + 123));
  });
  afterAll(() => temp.remove());

  it("prints the same line as sha256sum", async () => {
    const expected = execFileSync("sha256sum", [file], { encoding: "utf8" });
    expect((await runVhdOk(["checksum", file])).text).toBe(expected);
  });

  it("prints {path, sha256, bytes} with --json", async () => {
    const [hex] = execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ");
    expect(JSON.parse((await runVhdOk(["checksum", file, "--json"])).text)).toEqual({
      path: file,
      sha256: hex,
      bytes: 9 * 1024 * 1024 + 123,
    });
  });

  it("reports a missing file on one line with name, code and path, or as JSON on stderr", async () => {
    const missing = join(temp.dir, "missing.bin");
    expectOneLineError(await runVhd(["checksum", missing]), "ERROR_PATH_NOT_FOUND", missing);
    const json = await runVhd(["checksum", missing, "--json"]);
    expect(json.status).toBe(1);
    expect(json.text).toBe("");
    expect(JSON.parse(json.stderr)).toMatchObject({
      code: "ERROR_PATH_NOT_FOUND",
      hresult: "0x80070003",
      parameter: "path",
      path: missing,
    });
  });

  it("shows a progress bar on a terminal (script(1) gives it one), none with --quiet or when stderr is not a terminal", async () => {
    const underTerminal = async (...extra: string[]): Promise<string> => {
      const command = [process.execPath, CLI_MAIN, "checksum", file, ...extra].map((part) => JSON.stringify(part)).join(" ");
      const run = await runProcess("script", ["-qec", command, "/dev/null"]);
      expect(run.status).toBe(0);
      return run.stdout.toString("utf8");
    };
    const [hex] = execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ");
    const withBar = await underTerminal();
    expect(withBar).toMatch(/sha256 \[.*\] \d+% \| .* of 9 MiB/);
    expect(withBar).toContain(`${hex}  ${file}`);
    expect(await underTerminal("--quiet")).not.toContain("sha256 [");
    expect((await runVhdOk(["checksum", file])).stderr).toBe("");
  });
});
