import { closeSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProcess } from "../support/run-process";
import { mountTmpfs, skipMountRefused } from "../inputs/fixtures";
import { CLI_MAIN, REPO_ROOT, makeTempDir, runVhdOk } from "./cli-process";

/** Runs `vhd read <disk> [args] > target` with stdout really redirected to the file, as a shell does. */
async function readInto(target: string, disk: string, args: string[] = [], flags: "w" | "a" = "w"): Promise<void> {
  const fd = openSync(target, flags);
  try {
    const run = await runProcess(process.execPath, [CLI_MAIN, "read", disk, ...args], { cwd: REPO_ROOT, stdio: ["ignore", fd, "pipe"] });
    expect(run.stderr.toString("utf8")).toBe("");
    expect(run.status).toBe(0);
  } finally {
    closeSync(fd);
  }
}

describe("vhd read > file", () => {
  const folder = makeTempDir("read-file");
  let child = "";
  let piped: Buffer = Buffer.alloc(0);

  beforeAll(async () => {
    const base = join(folder.dir, "base.vhd");
    child = join(folder.dir, "child.vhd");
    await runVhdOk(["create", base, "--size", "64MiB"]);
    await runVhdOk(["write", base, "--offset", "5000000"], { input: Buffer.alloc(3_000_000, 0x5a) });
    await runVhdOk(["create-differencing", child, base]);
    await runVhdOk(["write", child, "--offset", "7000000"], { input: Buffer.alloc(100_000, 0xc3) });
    piped = (await runVhdOk(["read", child])).stdout;
  });
  afterAll(() => folder.remove());

  it("writes the same bytes as the pipe, leaving the disk's empty stretches as holes", async () => {
    const target = join(folder.dir, "out.raw");
    await readInto(target, child);
    expect(readFileSync(target).equals(piped)).toBe(true);
    // 64 MiB of disk with about 3 MiB of data: a sparse copy allocates a fraction of it.
    expect(statSync(target).blocks * 512).toBeLessThan(16 * 1024 * 1024);
  });

  it("reads a range into a file exactly", async () => {
    const target = join(folder.dir, "range.raw");
    await readInto(target, child, ["--offset", "4096", "--length", "10000000"]);
    expect(readFileSync(target).equals(piped.subarray(4096, 4096 + 10_000_000))).toBe(true);
  });

  it("appends after what a >> target already holds", async () => {
    const target = join(folder.dir, "appended.raw");
    writeFileSync(target, "header\n");
    await readInto(target, child, [], "a");
    const bytes = readFileSync(target);
    expect(bytes.subarray(0, 7).toString()).toBe("header\n");
    expect(bytes.subarray(7).equals(piped)).toBe(true);
  });

  it("> a file on a full volume: ERROR_DISK_FULL naming stdout and the file the shell opened, not /proc/self/fd/1 as a target", async (context) => {
    const volume = await mountTmpfs(folder.dir, 1024 * 1024);
    if (volume === undefined) return skipMountRefused(context);
    try {
      const target = join(volume.path, "out.raw");
      const fd = openSync(target, "w");
      try {
        const run = await runProcess(process.execPath, [CLI_MAIN, "read", child], { cwd: REPO_ROOT, stdio: ["ignore", fd, "pipe"] });
        expect(run.status).toBe(1);
        const stderr = run.stderr.toString("utf8");
        expect(stderr).toMatch(/^vhd: ERROR_DISK_FULL \(0x80070070\): stdout "[^"]*out\.raw": could not write .*the volume is full/);
        expect(stderr).not.toContain("/proc/self/fd");
      } finally {
        closeSync(fd);
      }
    } finally {
      await volume.unmount();
    }
  });
});
