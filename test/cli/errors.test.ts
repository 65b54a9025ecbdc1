import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN, expectOneLineError, makeTempDir, runVhd, runVhdOk } from "./cli-process";
import { ERROR_TABLE, formatHresult, type ErrorName } from "../../provider/errors";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../support/fixtures";
import { runProcess } from "../support/run-process";

const FIXTURES = DFVFS_FIXTURES;

/**
 * Every failure, whatever its kind, is ONE stderr line `vhd: NAME (0xHRESULT): parameter "path": sentence` (or one JSON
 * object with --json), a non-zero exit, and nothing created.
 */
describe("vhd errors", () => {
  const temp = makeTempDir("errors");
  const base = join(temp.dir, "base.vhd");
  const existing = join(temp.dir, "existing.vhd");

  beforeAll(async () => {
    await runVhdOk(["create", base, "--size", "8MiB"]);
    await runVhdOk(["create", `${base}x`, "--size", "8MiB"]);
    writeFileSync(existing, "not ours");
  });
  afterAll(() => temp.remove());

  /** The folder holds exactly these names: nothing was created and no temporary file was left. */
  function expectFolderHolds(names: string[]): void {
    expect(readdirSync(temp.dir).sort()).toEqual([...names].sort());
  }

  it("an existing target: ERROR_ALREADY_EXISTS, the file untouched", async () => {
    expectOneLineError(await runVhd(["create-differencing", existing, base]), "ERROR_ALREADY_EXISTS", existing);
    expect(readFileSync(existing, "utf8")).toBe("not ours");
    expectOneLineError(await runVhd(["create", existing, "--size", "8MiB"]), "ERROR_ALREADY_EXISTS", existing);
    expectFolderHolds(["base.vhd", "base.vhdx", "existing.vhd"]);
  });

  it("a missing parent: ERROR_PATH_NOT_FOUND naming parentPath, nothing created (not even the folder)", async () => {
    const missing = join(temp.dir, "missing.vhd");
    const run = await runVhd(["create-differencing", join(temp.dir, "new", "child.vhd"), missing]);
    expectOneLineError(run, "ERROR_PATH_NOT_FOUND", missing);
    expect(run.stderr).toContain(`parentPath ${JSON.stringify(missing)}`);
    expectFolderHolds(["base.vhd", "base.vhdx", "existing.vhd"]);
  });

  it("both paths relative: ERROR_BAD_PATHNAME (relative paths are relative to the other path, never to the cwd)", async () => {
    const run = await runVhd(["create-differencing", "child.vhd", "base.vhd"], { cwd: temp.dir });
    expectOneLineError(run, "ERROR_BAD_PATHNAME", "child.vhd");
    expectFolderHolds(["base.vhd", "base.vhdx", "existing.vhd"]);
  });

  it("a relative image path is resolved against the parent's folder", async () => {
    const run = await runVhdOk(["create-differencing", "sub/relative.vhd", base, "--json"]);
    expect(JSON.parse(run.text)).toMatchObject({ path: join(temp.dir, "sub", "relative.vhd"), type: "differencing" });
  });

  it("an empty path: E_POINTER", async () => {
    expectOneLineError(await runVhd(["create-differencing", "", base]), "E_POINTER");
  });

  it("a Windows-invalid name: ERROR_INVALID_NAME, unless --posix-paths", async () => {
    const odd = join(temp.dir, "what?.vhd");
    expectOneLineError(await runVhd(["create-differencing", odd, base]), "ERROR_INVALID_NAME", odd);
    expect(JSON.parse((await runVhdOk(["create-differencing", odd, base, "--posix-paths", "--json"])).text)).toMatchObject({
      path: odd,
    });
  });

  it("a path of 260 characters: ERROR_BUFFER_OVERFLOW", async () => {
    const long = join(temp.dir, `${"x".repeat(260 - temp.dir.length - 5)}.vhd`);
    expect(long).toHaveLength(260);
    expectOneLineError(await runVhd(["create-differencing", long, base]), "ERROR_BUFFER_OVERFLOW", long);
  });

  it.each([
    ["10X", "E_INVALIDARG"],
    ["1.3", "E_INVALIDARG"],
    ["0", "E_INVALIDARG"],
    ["2041GiB", "VM_E_IMAGE_SIZE_TOO_LARGE"],
    ["2MiB", "VM_E_IMAGE_SIZE_TOO_SMALL"],
  ] as const)("a bad size %s: %s, nothing created", async (size, code) => {
    const target = join(temp.dir, "sized.vhd");
    const run = await runVhd(["create", target, "--size", size]);
    expectOneLineError(run, code);
    expect(run.stderr).toMatch(/size/);
    expect(() => statSync(target)).toThrow();
  });

  it("a block size the format does not allow: ERROR_VHD_INVALID_BLOCK_SIZE", async () => {
    const run = await runVhd(["create-differencing", join(temp.dir, "blocky.vhd"), base, "--block-size", "3MiB"]);
    expectOneLineError(run, "ERROR_VHD_INVALID_BLOCK_SIZE");
  });

  it("with --json the error is one JSON object on stderr and stdout stays empty", async () => {
    const run = await runVhd(["create-differencing", existing, base, "--json"]);
    expect(run.status).toBe(1);
    expect(run.text).toBe("");
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(JSON.parse(run.stderr)).toMatchObject({
      code: "ERROR_ALREADY_EXISTS",
      hresult: "0x800700B7",
      parameter: "imagePath",
      path: existing,
      message: expect.stringContaining("already exists"),
    });
  });

  it("a usage error (unknown option, missing argument, bad choice): E_INVALIDARG, exit 2", async () => {
    expectOneLineError(await runVhd(["inspect", base, "--frobnicate"]), "E_INVALIDARG", undefined, 2);
    expectOneLineError(await runVhd(["create-differencing", join(temp.dir, "x.vhd")]), "E_INVALIDARG", undefined, 2);
    expectOneLineError(await runVhd(["create", join(temp.dir, "x.vhd"), "--size", "8MiB", "--type", "sparse"]), "E_INVALIDARG", undefined, 2);
    expect(JSON.parse((await runVhd(["nonsense", "--json"])).stderr)).toMatchObject({ code: "E_INVALIDARG" });
  });

  it("a child whose parent is elsewhere: read fails with ERROR_VHD_PARENT_VHD_NOT_FOUND naming the child", async (ctx) => {
    skipWithoutFixtures(ctx, FIXTURES);
    const child = join(FIXTURES, "fat-differential.vhd");
    const run = await runVhd(["read", child]);
    expectOneLineError(run, "ERROR_VHD_PARENT_VHD_NOT_FOUND", child);
    expect(run.stdout).toHaveLength(0);
  });

  it("a file that is not a VHD: inspect fails with ERROR_VHD_DRIVE_FOOTER_MISSING naming it", async () => {
    expectOneLineError(await runVhd(["inspect", existing]), "ERROR_VHD_DRIVE_FOOTER_MISSING", existing);
  });

  it("read past the end of the disk: E_INVALIDARG naming the offset", async () => {
    expectOneLineError(await runVhd(["read", base, "--offset", "9MiB"]), "E_INVALIDARG", base);
  });

  it.each<[string, string[], ErrorName, string]>([
    // The case: the parameter with its value, then the file by the input that named it.
    ["read past the end", ["read", "base.vhd", "--offset", "8388600", "--length", "100"], "E_INVALIDARG", 'length 100, path "base.vhd": '],
    ["read at an offset past the end", ["read", "base.vhd", "--offset", "9MiB"], "E_INVALIDARG", 'offset 9437184, path "base.vhd": '],
    ["read with a length that is no size", ["read", "base.vhd", "--length", "lots"], "E_INVALIDARG", 'length "lots", path "base.vhd": '],
    ["write past the end", ["write", "base.vhd", "--offset", "8388607"], "E_INVALIDARG", 'length 5, path "base.vhd": '],
    ["write past the end of a VHDX", ["write", "base.vhdx", "--offset", "8388607"], "E_INVALIDARG", 'length 5, path "base.vhdx": '],
    ["write at an offset that is no size", ["write", "base.vhd", "--offset", "1.5"], "E_INVALIDARG", 'offset "1.5", path "base.vhd": '],
    ["inspect a file that is not a VHD", ["inspect", "existing.vhd"], "ERROR_VHD_DRIVE_FOOTER_MISSING", 'path "existing.vhd": '],
    ["write into a missing disk", ["write", "missing.vhd", "--offset", "0"], "ERROR_PATH_NOT_FOUND", 'path "missing.vhd": '],
    ["a block size no VHD writer uses", ["create-differencing", "child.vhd", base, "--block-size", "3MiB"], "ERROR_VHD_INVALID_BLOCK_SIZE", "blockSize 3145728, imagePath "],
  ])("%s: names the parameter with its value, and the file, the same way in every command", async (_label, args, code, where) => {
    const run = await runVhd(args, { cwd: temp.dir, input: Buffer.from("12345") });
    expectOneLineError(run, code);
    expect(run.stderr).toContain(`(${formatHresult(ERROR_TABLE[code].hresult)}): ${where}`);
  });

  it.each(["small.vhd", "small.vhdx"])("write input that runs past the end after its first 8 MiB piece (%s): the input's length and offset, and what was written", async (name) => {
    await runVhdOk(["create", join(temp.dir, name), "--size", "8MiB"]);
    const run = await runVhd(["write", name, "--offset", "0"], { cwd: temp.dir, input: Buffer.alloc(10 * 1024 * 1024, 1) });
    expectOneLineError(run, "E_INVALIDARG");
    expect(run.stderr).toContain(
      `length 10485760, path "${name}": 10485760 bytes of input (or more) at offset 0 run past the end of the ` +
        "8388608-byte disk; the first 8388608 bytes were written, the rest were not",
    );
  });

  it("a size no VHD can have: the size, then the new disk's path", async () => {
    const target = join(temp.dir, "odd.vhd");
    const run = await runVhd(["create", target, "--size", "1000"]);
    expectOneLineError(run, "ERROR_VHD_INVALID_SIZE", target);
    expect(run.stderr).toContain(`size 1000, path ${JSON.stringify(target)}: `);
    expect(readdirSync(temp.dir)).not.toContain("odd.vhd");
  });

  it("write into a missing disk, even with empty input: ERROR_PATH_NOT_FOUND", async () => {
    const missing = join(temp.dir, "nope.vhd");
    expectOneLineError(await runVhd(["write", missing, "--offset", "0"]), "ERROR_PATH_NOT_FOUND", missing);
  });

  it("read refuses a terminal without --force (run under a pseudo-terminal by script(1))", async () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_MAIN)} read ${JSON.stringify(base)}`;
    const run = await runProcess("script", ["-qec", command, "/dev/null"]);
    expect(run.status).toBe(1);
    expect(run.stdout.toString("utf8")).toContain("vhd: E_INVALIDARG (0x80070057): stdout: refusing to write binary disk bytes to a terminal");
  });

  it("read stops quietly with exit 0 when the reader goes away (EPIPE)", async () => {
    const script = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_MAIN)} read ${JSON.stringify(base)} | head -c 1000 > /dev/null; echo "$\{PIPESTATUS[0]}"`;
    const run = await runProcess("bash", ["-c", script]);
    expect(run.stderr.toString("utf8")).toBe("");
    expect(run.stdout.toString("utf8").trim()).toBe("0");
  });

  it("read to a full device that is not a file (/dev/full): ERROR_DISK_FULL naming stdout, not an unexpected failure", async () => {
    const script = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_MAIN)} read ${JSON.stringify(base)} > /dev/full`;
    const run = await runProcess("bash", ["-c", script]);
    expect(run.status).toBe(1);
    expect(run.stderr.toString("utf8")).toMatch(/^vhd: ERROR_DISK_FULL \(0x80070070\): stdout: could not write to stdout: the volume is full; free some space and retry \(ENOSPC\)\n$/);
  });
});
