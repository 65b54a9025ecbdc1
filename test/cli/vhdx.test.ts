/**
 * The `vhd` CLI with VHDX, run as a user runs it (the built CLI in a child process): create (empty, fixed, from raw),
 * create-differencing, inspect, verify, write, read, checksum, merge and convert (VHD -> VHDX -> raw equals the source;
 * qemu-img's reading of our VHDX equals ours), mixed formats refused, nothing left behind on failure.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localStorage } from "../../provider/storage/local/local-storage";
import { REGION_GUIDS } from "../../provider/vhdx/format";
import { writeLogEntry } from "../../provider/vhdx/log-writer";
import { openVhdx } from "../../provider/vhdx/reader";
import { qemuImgConvertToRaw } from "../support/oracles";
import { HAVE } from "../vhdx/support";
import { expectOneLineError, makeTempDir, runVhd, runVhdOk } from "./cli-process";

const MIB = 1024 * 1024;
let temp: { dir: string; remove(): void };
const at = (name: string): string => join(temp.dir, name);
let raw: Buffer;

beforeAll(() => {
  temp = makeTempDir("vhdx");
  // Data in the first and third MiB of 8 MiB, zeros elsewhere: a dynamic disk made from it skips the empty blocks.
  raw = Buffer.alloc(8 * MIB);
  randomBytes(MIB).copy(raw, 0);
  randomBytes(MIB).copy(raw, 2 * MIB);
  writeFileSync(at("source.raw"), raw);
});

afterAll(() => temp?.remove());

/**
 * Leaves a live log in the VHDX at `path`, as a writer that crashed before applying it would: one entry rewriting
 * the first BAT sector with the bytes it holds, the headers naming it, DataWriteGuid unchanged.
 */
async function leaveLiveLog(path: string): Promise<void> {
  const file = await localStorage.open(path, { writable: true });
  try {
    const image = await openVhdx(file);
    const bat = image.regions.find((region) => region.guid === REGION_GUIDS.bat)?.fileOffset ?? 0;
    await writeLogEntry(file, { header: image.header, slot: image.headerSlot }, [{ fileOffset: bat, data: await file.read(bat, 4096) }]);
  } finally {
    await file.close();
  }
}

type VerifyJson = { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };

async function inspect(path: string): Promise<Record<string, unknown>> {
  return JSON.parse((await runVhdOk(["inspect", path, "--json"])).text) as Record<string, unknown>;
}

describe("vhd with VHDX", () => {
  it("create makes dynamic (1 MiB blocks, from raw) and fixed VHDX bases; inspect reports the format-neutral facts", async () => {
    await runVhdOk(["create", at("golden.vhdx"), "--from", at("source.raw"), "--block-size", "1MiB", "--quiet"]);
    expect(await inspect(at("golden.vhdx"))).toMatchObject({
      format: "vhdx",
      type: "dynamic",
      virtualSize: 8 * MIB,
      blockSize: MIB,
      logicalSectorSize: 512,
      allocatedBlocks: 2,
      chain: [],
    });
    await runVhdOk(["create", at("fixed.vhdx"), "--size", "4MiB", "--type", "fixed", "--quiet"]);
    expect(await inspect(at("fixed.vhdx"))).toMatchObject({ format: "vhdx", type: "fixed", virtualSize: 4 * MIB });
    expect((await runVhdOk(["read", at("golden.vhdx"), "--quiet"])).stdout.equals(raw)).toBe(true);
  });

  it("a block size VHDX does not allow is ERROR_VHD_INVALID_BLOCK_SIZE, with nothing left behind", async () => {
    expectOneLineError(await runVhd(["create", at("bad.vhdx"), "--size", "8MiB", "--block-size", "3MiB"]), "ERROR_VHD_INVALID_BLOCK_SIZE");
    expect(readdirSync(temp.dir).filter((name) => name.includes("bad"))).toEqual([]);
  });

  it("create-differencing, write and read: the child reads through, writes land, the parent's bytes never change", async () => {
    const golden = readFileSync(at("golden.vhdx"));
    await runVhdOk(["create-differencing", at("child.vhdx"), at("golden.vhdx"), "--quiet"]);
    const child = await inspect(at("child.vhdx"));
    const parentId = (await inspect(at("golden.vhdx"))).uniqueId;
    expect(child).toMatchObject({ format: "vhdx", type: "differencing", parent: { uniqueId: parentId, resolvedPath: at("golden.vhdx") } });
    // The Virtual Disk ID (Get-VHD's DiskIdentifier): a child shares its parent's (MS-VHDX §2.6.2.5); the human form
    // shows it beside the unique id (the DataWriteGuid).
    const virtualDiskId = (await inspect(at("golden.vhdx"))).virtualDiskId;
    expect(virtualDiskId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(child.virtualDiskId).toBe(virtualDiskId);
    expect(child.uniqueId).not.toBe(virtualDiskId);
    expect((await runVhdOk(["inspect", at("child.vhdx")])).text).toMatch(new RegExp(`^virtual disk id: +${String(virtualDiskId)}$`, "m"));
    const data = randomBytes(100_000);
    await runVhdOk(["write", at("child.vhdx"), "--offset", "1000", "--quiet"], { input: data });
    const expected = Buffer.from(raw);
    data.copy(expected, 1000);
    expect((await runVhdOk(["read", at("child.vhdx"), "--quiet"])).stdout.equals(expected)).toBe(true);
    expect(readFileSync(at("golden.vhdx")).equals(golden)).toBe(true);
    const verify = await runVhdOk(["verify", at("child.vhdx"), "--json"]);
    expect(JSON.parse(verify.text)).toMatchObject({ ok: true });
    expect((await runVhdOk(["checksum", at("child.vhdx")])).text).toMatch(/^[0-9a-f]{64}/);
  });

  it("a VHD child of a VHDX parent is refused as ERROR_VHD_INVALID_TYPE naming parentPath, and not created", async () => {
    const run = await runVhd(["create-differencing", at("mixed.vhd"), at("golden.vhdx")]);
    expectOneLineError(run, "ERROR_VHD_INVALID_TYPE", at("golden.vhdx"));
    expect(run.stderr).toContain("parentPath");
    expect(readdirSync(temp.dir).filter((name) => name.includes("mixed"))).toEqual([]);
  });

  it("set-parent relinks a VHDX child to its moved parent: the child reads the same, the parent's bytes never change", async () => {
    mkdirSync(at("moved"));
    copyFileSync(at("golden.vhdx"), at("moved/golden.vhdx"));
    copyFileSync(at("child.vhdx"), at("relinked.vhdx"));
    const content = (await runVhdOk(["read", at("relinked.vhdx"), "--quiet"])).stdout;
    const golden = readFileSync(at("moved/golden.vhdx"));
    const run = await runVhdOk(["set-parent", at("relinked.vhdx"), at("moved/golden.vhdx"), "--json"]);
    expect(JSON.parse(run.text)).toMatchObject({ disk: { format: "vhdx", parent: { resolvedPath: at("moved/golden.vhdx") } } });
    expect((await runVhdOk(["read", at("relinked.vhdx"), "--quiet"])).stdout.equals(content)).toBe(true);
    expect(readFileSync(at("moved/golden.vhdx")).equals(golden)).toBe(true);
    expect(JSON.parse((await runVhdOk(["verify", at("relinked.vhdx"), "--json"])).text)).toMatchObject({ ok: true });
  });

  it("set-parent to a VHD parent is ERROR_VHD_INVALID_TYPE naming parentPath; nothing changed", async () => {
    await runVhdOk(["convert", at("golden.vhdx"), at("golden-as.vhd"), "--quiet"]);
    const before = { child: readFileSync(at("child.vhdx")), golden: readFileSync(at("golden.vhdx")) };
    const mixed = await runVhd(["set-parent", at("child.vhdx"), at("golden-as.vhd")]);
    expectOneLineError(mixed, "ERROR_VHD_INVALID_TYPE", at("golden-as.vhd"));
    expect(mixed.stderr).toContain("parentPath");
    expect(readFileSync(at("child.vhdx")).equals(before.child)).toBe(true);
    expect(readFileSync(at("golden.vhdx")).equals(before.golden)).toBe(true);
  });

  it("merge of a VHDX child (like Merge-VHD): refused while a grandchild is not listed; with --relink the parent reads as the child did", async () => {
    // Copies, found by relative_path in their own folder: later tests use child.vhdx.
    mkdirSync(at("merge"));
    copyFileSync(at("golden.vhdx"), at("merge/golden.vhdx"));
    copyFileSync(at("child.vhdx"), at("merge/child.vhdx"));
    const [golden, child, grand] = ["golden.vhdx", "child.vhdx", "grand.vhdx"].map((name) => at(`merge/${name}`)) as [string, string, string];
    await runVhdOk(["create-differencing", grand, child, "--quiet"]);
    await runVhdOk(["write", grand, "--offset", String(4 * MIB), "--quiet"], { input: randomBytes(8192) });
    const [childReads, grandReads] = [(await runVhdOk(["read", child, "--quiet"])).stdout, (await runVhdOk(["read", grand, "--quiet"])).stdout];
    const before = readFileSync(golden);
    const refused = await runVhd(["merge", child]);
    expectOneLineError(refused, "ERROR_SHARING_VIOLATION", child);
    expect(refused.stderr).toContain(`--relink ${grand}`);
    expect(readFileSync(golden).equals(before)).toBe(true);
    const run = await runVhdOk(["merge", child, "--relink", grand, "--json"]);
    expect(JSON.parse(run.text)).toMatchObject({ merged: [child], relinked: [grand], destination: { path: golden, format: "vhdx", type: "dynamic" } });
    expect(existsSync(child)).toBe(false);
    expect((await runVhdOk(["read", golden, "--quiet"])).stdout.equals(childReads)).toBe(true);
    expect((await runVhdOk(["read", grand, "--quiet"])).stdout.equals(grandReads)).toBe(true);
    for (const path of [golden, grand]) expect(JSON.parse((await runVhdOk(["verify", path, "--json"])).text)).toMatchObject({ ok: true });
    expect((await inspect(grand)).parent).toMatchObject({ resolvedPath: golden, uniqueId: (await inspect(golden)).uniqueId });
  });

  it("verify reports a damaged header copy as a failed check (the disk still reads from the other copy)", async () => {
    await runVhdOk(["convert", at("golden.vhdx"), at("damaged.vhdx"), "--quiet"]);
    const bytes = readFileSync(at("damaged.vhdx"));
    bytes[64 * 1024 + 100] = (bytes[64 * 1024 + 100] ?? 0) ^ 0xff;
    writeFileSync(at("damaged.vhdx"), bytes);
    const run = await runVhd(["verify", at("damaged.vhdx"), "--json"]);
    const report = JSON.parse(run.stdout.toString("utf8")) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(report.ok).toBe(false);
    expect(report.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual([expect.stringMatching(/^header 1/)]);
  });

  it("verify of a child fails while its parent has a live log: a writer would replay it under a new DataWriteGuid", async () => {
    await runVhdOk(["convert", at("golden.vhdx"), at("logged.vhdx"), "--quiet"]);
    await runVhdOk(["create-differencing", at("logged-child.vhdx"), at("logged.vhdx"), "--quiet"]);
    const clean = JSON.parse((await runVhdOk(["verify", at("logged-child.vhdx"), "--json"])).text) as VerifyJson;
    expect(clean.checks).toContainEqual(expect.objectContaining({ name: "ancestors: no live log", ok: true }));
    await leaveLiveLog(at("logged.vhdx"));
    // The chain still opens and reads: the parent's log is replayed in memory, its DataWriteGuid unchanged.
    expect((await runVhdOk(["read", at("logged-child.vhdx"), "--quiet"])).stdout.equals(raw)).toBe(true);
    const run = await runVhd(["verify", at("logged-child.vhdx"), "--json"]);
    expect(run.status).not.toBe(0);
    const report = JSON.parse(run.stdout.toString("utf8")) as VerifyJson;
    expect(report.ok).toBe(false);
    const failed = report.checks.filter((check) => !check.ok);
    expect(failed.map((check) => check.name)).toEqual(["ancestors: no live log"]);
    expect(failed[0]?.detail).toContain(at("logged.vhdx"));
  });

  it("convert VHD -> VHDX -> raw gives back the source's bytes, sparse, and a differencing source is composed", async () => {
    await runVhdOk(["create", at("start.vhd"), "--from", at("source.raw"), "--quiet"]);
    await runVhdOk(["convert", at("start.vhd"), at("converted.vhdx"), "--quiet"]);
    // The block size `create` gives a dynamic VHDX (Hyper-V's 32 MiB): one block holds the whole 8 MiB.
    await runVhdOk(["create", at("created.vhdx"), "--size", "8MiB", "--quiet"]);
    const createdBlockSize = (await inspect(at("created.vhdx"))).blockSize;
    expect(await inspect(at("converted.vhdx"))).toMatchObject({ format: "vhdx", type: "dynamic", virtualSize: 8 * MIB, blockSize: createdBlockSize });
    expect(createdBlockSize).toBe(32 * MIB);
    await runVhdOk(["convert", at("converted.vhdx"), at("back.raw"), "--quiet"]);
    expect(readFileSync(at("back.raw")).equals(raw)).toBe(true);
    // Sparse: only the two MiB holding data were written, though the one 32 MiB block holds zeros too; the other
    // 6 MiB are holes.
    expect(statSync(at("back.raw")).blocks * 512).toBeLessThanOrEqual(2 * MIB + 64 * 1024);
    // With 2 MiB blocks, only the two blocks holding data are allocated.
    await runVhdOk(["convert", at("back.raw"), at("small-blocks.vhdx"), "--block-size", "2MiB", "--quiet"]);
    expect(await inspect(at("small-blocks.vhdx"))).toMatchObject({ blockSize: 2 * MIB });
    expect(statSync(at("small-blocks.vhdx")).size).toBeLessThanOrEqual(statSync(at("created.vhdx")).size + 2 * 2 * MIB);
    await runVhdOk(["convert", at("child.vhdx"), at("child.vhd"), "--quiet"]);
    expect((await runVhdOk(["read", at("child.vhd"), "--quiet"])).stdout.equals((await runVhdOk(["read", at("child.vhdx"), "--quiet"])).stdout)).toBe(true);
  });

  it("create and convert take --logical-sector-size/--physical-sector-size; convert to VHDX keeps the source's; a VHD refuses 4096", async () => {
    await runVhdOk(["create", at("4k.vhdx"), "--size", "8MiB", "--logical-sector-size", "4096", "--physical-sector-size", "4096", "--quiet"]);
    await runVhdOk(["write", at("4k.vhdx"), "--offset", "1MiB", "--quiet"], { input: raw.subarray(0, 8192) });
    await runVhdOk(["convert", at("4k.vhdx"), at("4k-copy.vhdx"), "--quiet"]);
    expect(await inspect(at("4k-copy.vhdx"))).toMatchObject({ format: "vhdx", logicalSectorSize: 4096, physicalSectorSize: 4096 });
    expect((await runVhdOk(["read", at("4k-copy.vhdx"), "--offset", "1MiB", "--length", "8192", "--quiet"])).stdout.equals(raw.subarray(0, 8192))).toBe(true);
    await runVhdOk(["convert", at("4k.vhdx"), at("4k-512.vhdx"), "--logical-sector-size", "512", "--quiet"]);
    expect(await inspect(at("4k-512.vhdx"))).toMatchObject({ logicalSectorSize: 512, physicalSectorSize: 4096 });
    const toVhd = await runVhd(["convert", at("4k.vhdx"), at("4k.vhd"), "--logical-sector-size", "4096"]);
    expectOneLineError(toVhd, "E_INVALIDARG", at("4k.vhd"));
    expect(toVhd.stderr).toContain(`logicalSectorSize 4096, target ${JSON.stringify(at("4k.vhd"))}`);
    const createVhd = await runVhd(["create", at("4k.vhd"), "--size", "8MiB", "--physical-sector-size", "4KiB"]);
    expectOneLineError(createVhd, "E_INVALIDARG", at("4k.vhd"));
    expect(createVhd.stderr).toContain("physicalSectorSize 4096");
    expect(readdirSync(temp.dir).filter((name) => name.startsWith("4k.vhd") && !name.endsWith(".vhdx"))).toEqual([]);
  });

  it("convert refuses an existing target and a --format its name contradicts, leaving no file", async () => {
    expectOneLineError(await runVhd(["convert", at("start.vhd"), at("back.raw")]), "ERROR_ALREADY_EXISTS");
    expectOneLineError(await runVhd(["convert", at("start.vhd"), at("wrong.vhd"), "--format", "vhdx"]), "E_INVALIDARG");
    expect(readdirSync(temp.dir).filter((name) => name.includes("wrong") || name.endsWith(".tmp") || name.endsWith(".raw") && name.startsWith("."))).toEqual([]);
  });

  it("convert -t/--cache takes qemu-img's writeback and unsafe (same bytes either way); another mode is a usage error naming the option", async () => {
    await runVhdOk(["convert", at("start.vhd"), at("unsafe.vhdx"), "-t", "unsafe", "--quiet"]);
    await runVhdOk(["convert", at("start.vhd"), at("writeback.vhdx"), "--cache", "writeback", "--quiet"]);
    for (const name of ["unsafe.vhdx", "writeback.vhdx"]) expect((await runVhdOk(["read", at(name), "--quiet"])).stdout.equals(raw)).toBe(true);
    const refused = await runVhd(["convert", at("start.vhd"), at("none.vhdx"), "-t", "none"]);
    expectOneLineError(refused, "E_INVALIDARG", undefined, 2);
    expect(refused.stderr).toMatch(/--cache <mode>.*'none'.*writeback, unsafe/u);
    expect(readdirSync(temp.dir).filter((name) => name.includes("none"))).toEqual([]);
  });

  it("qemu-img convert of our VHDX base to raw equals our reading of it", async (ctx) => {
    if (!HAVE.qemuImg) return ctx.skip("qemu-img is not installed");
    await qemuImgConvertToRaw(at("golden.vhdx"), at("qemu.raw"), "vhdx");
    expect(readFileSync(at("qemu.raw")).equals((await runVhdOk(["read", at("golden.vhdx"), "--quiet"])).stdout)).toBe(true);
    expect(readFileSync(at("qemu.raw")).equals(raw)).toBe(true);
  });
});
