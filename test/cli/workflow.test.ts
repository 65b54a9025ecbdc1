import { createHash, randomBytes } from "node:crypto";
import { closeSync, copyFileSync, cpSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DiskInfo } from "../../provider/disk/inspect";
import type { VerifyReport } from "../../provider/vhd/verify";
import { pyvhdiReadChain, qemuImgInfo } from "../support/oracles";
import { makeTempDir, runVhd, runVhdOk } from "./cli-process";
import { CORPUS_FIXTURES, DFVFS_FIXTURES, fixturesMissing, skipWithoutFixtures } from "../support/fixtures";

const MiB = 1024 * 1024;
const FIXTURES = DFVFS_FIXTURES;
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** A golden image made from a raw file, a child off it, written and read back: the whole life of a disk, by CLI. */
describe("vhd: create, inspect, verify, write, read", () => {
  const temp = makeTempDir("workflow");
  const rawPath = join(temp.dir, "golden.raw");
  const basePath = join(temp.dir, "golden.vhd");
  // A folder that does not exist yet: the contract creates it.
  const childPath = join(temp.dir, "vms", "web-1.vhd");
  // 5 MiB and a bit: not a whole number of 2 MiB blocks.
  const raw = randomBytes(5 * MiB + 3 * 512);
  let created: DiskInfo;

  beforeAll(() => {
    writeFileSync(rawPath, raw);
  });
  afterAll(() => temp.remove());

  it("creates a dynamic base disk from a raw image, whose bytes read back exactly", async () => {
    const info = JSON.parse((await runVhdOk(["create", basePath, "--from", rawPath, "--json"])).text) as DiskInfo;
    expect(info).toMatchObject({ path: basePath, type: "dynamic", virtualSize: raw.length, blockSize: 2 * MiB });
    expect((await runVhdOk(["read", basePath])).stdout.equals(raw)).toBe(true);
  });

  it("creates a differencing child (folder included) off the base, in the contract's argument order", async () => {
    created = JSON.parse((await runVhdOk(["create-differencing", childPath, basePath, "--json"])).text) as DiskInfo;
    expect(created).toMatchObject({
      path: childPath,
      type: "differencing",
      virtualSize: raw.length,
      parent: { resolvedPath: basePath, name: "golden.vhd" },
      chain: [{ path: basePath, type: "dynamic" }],
    });
    // An independent reader agrees on the size.
    expect((await qemuImgInfo(childPath))["virtual-size"]).toBe(raw.length);
  });

  it("inspect --json reports the child as create did, with parent id = the base's id", async () => {
    const child = JSON.parse((await runVhdOk(["inspect", childPath, "--json"])).text) as DiskInfo;
    const base = JSON.parse((await runVhdOk(["inspect", basePath, "--json"])).text) as DiskInfo;
    expect(child).toEqual(created);
    expect(child.parent?.uniqueId).toBe(base.uniqueId);
    expect(child.parent?.locators.map((locator) => locator.code).sort()).toEqual(["W2ku", "W2ru"]);
  });

  it("inspect prints aligned key: value lines with the parent and the chain", async () => {
    const lines = (await runVhdOk(["inspect", childPath])).text.trimEnd().split("\n");
    const valueColumns = new Set(lines.map((line) => /^[^:]+: +/.exec(line)?.[0].length));
    expect(valueColumns.size, lines.join("\n")).toBe(1);
    expect(valueColumns.has(undefined)).toBe(false);
    const field = (label: string): string | undefined =>
      lines.find((line) => line.startsWith(`${label}:`))?.replace(/^[^:]+: +/, "");
    expect(field("type")).toBe("differencing");
    // Rounded for people as qemu-img rounds, exact in brackets.
    expect(field("virtual size")).toBe(`5 MiB (${raw.length} bytes)`);
    expect(field("parent path")).toBe(basePath);
    expect(field("parent unique id")).toBe(created.parent?.uniqueId);
    expect(field("ancestor 1")).toContain(basePath);
  });

  it("write puts stdin into the child at an odd offset; read gives it back through the chain; the base is untouched", async () => {
    const baseBefore = (await runVhdOk(["checksum", basePath])).text;
    const data = randomBytes(3 * MiB + 777);
    const offset = MiB + 100;
    const summary = JSON.parse(
      (await runVhdOk(["write", childPath, "--offset", String(offset), "--json"], { input: data })).text,
    ) as { bytesWritten: number; blocksAllocated: number };
    expect(summary.bytesWritten).toBe(data.length);
    expect(summary.blocksAllocated).toBeGreaterThan(0);

    const expected = Buffer.from(raw);
    data.copy(expected, offset);
    expect(sha256((await runVhdOk(["read", childPath])).stdout)).toBe(sha256(expected));
    const window = (await runVhdOk(["read", childPath, "--offset", "1MiB", "--length", "4KiB"])).stdout;
    expect(window.equals(expected.subarray(MiB, MiB + 4096))).toBe(true);
    expect((await runVhdOk(["checksum", basePath])).text).toBe(baseBefore);
  });

  it("read agrees with pyvhdi (libvhdi) on the composed chain", async () => {
    const ours = (await runVhdOk(["read", childPath])).stdout;
    const theirs = await pyvhdiReadChain([childPath, basePath], join(temp.dir, "pyvhdi.raw"));
    expect(theirs.sha256).toBe(sha256(ours));
  });

  it("verify passes the child, printing every check, and reports the same with --json", async () => {
    const run = await runVhdOk(["verify", childPath]);
    const lines = run.text.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.slice(0, -1).every((line) => line.startsWith("ok "))).toBe(true);
    expect(lines.at(-1)).toMatch(/all \d+ checks hold$/);
    const report = JSON.parse((await runVhdOk(["verify", childPath, "--json"])).text) as VerifyReport;
    expect(report.ok).toBe(true);
    expect(report.checks.some((check) => check.name.startsWith("chain"))).toBe(true);
  });

  it("verify fails (exit 1, a FAIL line) on a copy whose tail footer is damaged", async () => {
    const copy = join(temp.dir, "vms", "damaged.vhd");
    copyFileSync(childPath, copy);
    const size = readFileSync(copy).length;
    const fd = openSync(copy, "r+");
    // Byte 66 of the tail footer lies in its checksum field (SPEC: offset 64, 4 bytes).
    writeSync(fd, Buffer.from([0x5a]), 0, 1, size - 512 + 66);
    closeSync(fd);
    const run = await runVhd(["verify", copy]);
    expect(run.status).toBe(1);
    expect(run.text).toMatch(/^FAIL +tail footer: checksum/m);
    expect(run.text.trimEnd().split("\n").at(-1)).toMatch(/checks failed$/);
    const json = await runVhd(["verify", copy, "--json"]);
    expect(json.status).toBe(1);
    expect((JSON.parse(json.text) as VerifyReport).ok).toBe(false);
  });

  it("verify exits 0 on qemu's force_size disk and on a child of it, listing the stored geometry as a note", async (ctx) => {
    skipWithoutFixtures(ctx, CORPUS_FIXTURES);
    const parent = join(temp.dir, "qem2.vhd");
    copyFileSync(join(CORPUS_FIXTURES, "qem2-eci-fixed.vhd"), parent);
    const child = join(temp.dir, "qem2-child.vhd");
    await runVhdOk(["create-differencing", child, parent]);
    for (const path of [parent, child]) {
      const run = await runVhdOk(["verify", path]);
      expect(run.text).toMatch(/^note +the stored geometry 65535\/16\/255 is not the SPEC algorithm's/m);
      expect(run.text).not.toMatch(/^FAIL/m);
      expect(run.text.trimEnd().split("\n").at(-1)).toMatch(/all \d+ checks hold$/);
    }
    expect((await runVhdOk(["inspect", child])).text).toMatch(/^alignment: +1 /m);
  });

  it("--help lists every command", async () => {
    const help = (await runVhdOk(["--help"])).text;
    for (const command of ["create-differencing", "create", "inspect", "verify", "read", "write", "checksum"]) {
      expect(help).toMatch(new RegExp(`^  ${command} `, "m"));
    }
  });

  it("--version and -V print the version of provider/package.json", async () => {
    const packageJson = readFileSync(join(__dirname, "../../provider/package.json"), "utf8");
    const { version } = JSON.parse(packageJson) as { version: string };
    for (const flag of ["--version", "-V"]) expect((await runVhdOk([flag])).text).toBe(`${version}\n`);
  });
});

/** The real samples (copied: fixtures are never touched): inspect reads all four, and says why a parent is missing. */
describe("vhd inspect on the dfvfs samples", () => {
  const temp = makeTempDir("dfvfs");
  beforeAll(() => {
    if (!fixturesMissing(FIXTURES)) cpSync(FIXTURES, temp.dir, { recursive: true });
  });
  beforeEach((ctx) => skipWithoutFixtures(ctx, FIXTURES));
  afterAll(() => temp.remove());

  it.each(["image.vhd", "ext2.vhd", "image-differential.vhd", "fat-differential.vhd"])("reads %s", async (name) => {
    const info = JSON.parse((await runVhdOk(["inspect", join(temp.dir, name), "--json"])).text) as DiskInfo;
    expect(info.type).toBe(name.includes("differential") ? "differencing" : "dynamic");
    expect(info.virtualSize).toBeGreaterThan(0);
  });

  it("image-differential.vhd: its parent image.vhd found next to it, and read through to it as pyvhdi reads it", async () => {
    const child = join(temp.dir, "image-differential.vhd");
    const parent = join(temp.dir, "image.vhd");
    expect((await runVhdOk(["inspect", child])).text).toMatch(new RegExp(`^ancestor 1: +${parent} \\(dynamic, `, "m"));
    const theirs = await pyvhdiReadChain([child, parent], join(temp.dir, "pyvhdi.raw"));
    expect(sha256((await runVhdOk(["read", child])).stdout)).toBe(theirs.sha256);
  });

  it("fat-differential.vhd: shows the Windows parent path and id, and why the parent is not found", async () => {
    const child = join(temp.dir, "fat-differential.vhd");
    const text = (await runVhdOk(["inspect", child])).text;
    expect(text).toMatch(/^parent name: +C:\\Projects\\dfvfs\\test_data\\fat-parent\.vhd$/m);
    expect(text).toMatch(/^parent unique id: +5fa21a55-f394-aa4d-9958-1951a67d5540$/m);
    expect(text).toMatch(/^parent path: +not found: ERROR_VHD_PARENT_VHD_NOT_FOUND \(0xC03A000D\)/m);
    const info = JSON.parse((await runVhdOk(["inspect", child, "--json"])).text) as DiskInfo;
    expect(info.parent?.resolvedPath).toBeNull();
    expect(info.chainError?.code).toBe("ERROR_VHD_PARENT_VHD_NOT_FOUND");
  });
});
