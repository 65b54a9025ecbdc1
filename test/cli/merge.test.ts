/** `vhd merge`: Merge-VHD / qemu-img commit, checked with our reader, pyvhdi and qemu-img. */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DiskInfo } from "../../provider/disk/inspect";
import { pyvhdiReadChain, qemuImgConvertToRaw } from "../support/oracles";
import { expectOneLineError, makeTempDir, runVhd, runVhdOk } from "./cli-process";

const MiB = 1024 * 1024;
const SIZE = "8MiB";
/** The unprivileged account a root test run acts as, for whom root's 0600 files are unreadable. */
const NOBODY = { uid: 65534, gid: 65534 };
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");


interface MergeOutput {
  destination: DiskInfo;
  merged: string[];
  relinked: string[];
  bytesWritten: number;
}

describe("vhd merge", () => {
  const temp = makeTempDir("merge");
  afterAll(() => temp.remove());

  /** A base disk with 3 MiB of data at 0, in a folder of its own. */
  async function base(name: string): Promise<string> {
    const path = join(temp.dir, name, "base.vhd");
    await runVhdOk(["create", path, "--size", SIZE, "--block-size", "512KiB"]);
    await runVhdOk(["write", path, "--offset", "0"], { input: randomBytes(3 * MiB) });
    return path;
  }

  async function child(path: string, parent: string, writes: readonly [offset: number, length: number][]): Promise<string> {
    await runVhdOk(["create-differencing", path, parent, "--block-size", "512KiB"]);
    for (const [offset, length] of writes) await runVhdOk(["write", path, "--offset", String(offset)], { input: randomBytes(length) });
    return path;
  }

  /** The destination reads (ours, pyvhdi, qemu-img: a base has no parent for qemu to miss) exactly `expected`. */
  async function expectReads(path: string, expected: Buffer): Promise<void> {
    expect((await runVhdOk(["read", path])).stdout.equals(expected)).toBe(true);
    expect((await runVhdOk(["verify", path])).status).toBe(0);
    const pyvhdi = await pyvhdiReadChain([path], join(temp.dir, "pyvhdi.raw"));
    expect(pyvhdi.sha256).toBe(sha256(expected));
    await qemuImgConvertToRaw(path, join(temp.dir, "qemu.raw"));
    expect(readFileSync(join(temp.dir, "qemu.raw")).equals(expected)).toBe(true);
  }

  it("merges a child into its parent, which then reads as the child did; the child is deleted", async () => {
    const parent = await base("one");
    const leaf = await child(join(temp.dir, "one", "vm.vhd"), parent, [
      [MiB, 2 * MiB],
      [5 * MiB + 4096, 8192],
    ]);
    const expected = (await runVhdOk(["read", leaf])).stdout;
    const result = JSON.parse((await runVhdOk(["merge", leaf, "--json"])).text) as MergeOutput;
    expect(result).toMatchObject({ merged: [leaf], relinked: [], destination: { path: parent, type: "dynamic" } });
    expect(result.bytesWritten).toBeGreaterThanOrEqual(2 * MiB + 8192);
    expect(existsSync(leaf)).toBe(false);
    await expectReads(parent, expected);
  });

  it("merges across a chain of depth 3 into the grandparent; the child and the middle disk are deleted", async () => {
    const grandparent = await base("three");
    const middle = await child(join(temp.dir, "three", "middle.vhd"), grandparent, [
      [2 * MiB, 2 * MiB],
      [7 * MiB, MiB],
    ]);
    const leaf = await child(join(temp.dir, "three", "leaf.vhd"), middle, [
      [3 * MiB, MiB],
      [6 * MiB, 4096],
    ]);
    const expected = (await runVhdOk(["read", leaf])).stdout;
    const result = JSON.parse((await runVhdOk(["merge", leaf, "--into", grandparent, "--json"])).text) as MergeOutput;
    expect(result.merged).toEqual([leaf, middle]);
    expect(existsSync(leaf) || existsSync(middle)).toBe(false);
    await expectReads(grandparent, expected);
  });

  it("refuses while a sibling depends on the destination, changing nothing", async () => {
    const parent = await base("sibling");
    const leaf = await child(join(temp.dir, "sibling", "a.vhd"), parent, [[0, MiB]]);
    const sibling = await child(join(temp.dir, "sibling", "b.vhd"), parent, [[MiB, MiB]]);
    const before = [parent, leaf, sibling].map((path) => sha256(readFileSync(path)));
    const run = await runVhd(["merge", leaf]);
    expectOneLineError(run, "ERROR_SHARING_VIOLATION", leaf);
    expect(run.stderr).toContain(`${sibling} uses the destination ${parent}`);
    expect([parent, leaf, sibling].map((path) => sha256(readFileSync(path)))).toEqual(before);
  });

  it("refuses while a file beside the chain cannot be read (it may be a child of the destination), naming it; nothing changes", async () => {
    const parent = await base("unreadable");
    const leaf = await child(join(temp.dir, "unreadable", "a.vhd"), parent, [[0, MiB]]);
    // Another child of the destination that the user running merge cannot read: the merge would change what it reads.
    const hidden = await child(join(temp.dir, "unreadable", "b.vhd"), parent, [[MiB, MiB]]);
    // Root reads any file: as root the merge is run as nobody, owning everything but the hidden child.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      chmodSync(temp.dir, 0o755);
      for (const path of [join(temp.dir, "unreadable"), parent, leaf]) chownSync(path, NOBODY.uid, NOBODY.gid);
    }
    chmodSync(hidden, asRoot ? 0o600 : 0o000);
    const before = [parent, leaf].map((path) => sha256(readFileSync(path)));
    const run = await runVhd(["merge", leaf], asRoot ? { user: NOBODY } : {});
    expectOneLineError(run, "ERROR_ACCESS_DENIED", hidden);
    expect(run.stderr).toContain("could not read this file beside the disk to tell whether it is a child of the disk");
    expect([parent, leaf].map((path) => sha256(readFileSync(path)))).toEqual(before);
    chmodSync(hidden, 0o644);
    expect((await runVhdOk(["verify", hidden])).status).toBe(0);
  });

  it("refuses while a disk uses the child as its parent, unless told to relink it; relinked, it reads as before", async () => {
    const parent = await base("relink");
    const leaf = await child(join(temp.dir, "relink", "c.vhd"), parent, [[0, 2 * MiB]]);
    const grandchild = await child(join(temp.dir, "relink", "g.vhd"), leaf, [[MiB, 4096]]);
    const expected = (await runVhdOk(["read", grandchild])).stdout;
    const refused = await runVhd(["merge", leaf]);
    expectOneLineError(refused, "ERROR_SHARING_VIOLATION", leaf);
    expect(refused.stderr).toContain(`--relink ${grandchild}`);
    expectOneLineError(await runVhd(["merge", leaf, "--relink", grandchild, parent]), "E_INVALIDARG", parent);
    const result = JSON.parse((await runVhdOk(["merge", leaf, "--relink", grandchild, "--json"])).text) as MergeOutput;
    expect(result).toMatchObject({ merged: [leaf], relinked: [grandchild] });
    const info = JSON.parse((await runVhdOk(["inspect", grandchild, "--json"])).text) as DiskInfo;
    expect(info.parent?.resolvedPath).toBe(parent);
    expect((await runVhdOk(["read", grandchild])).stdout.equals(expected)).toBe(true);
    const pyvhdi = await pyvhdiReadChain([grandchild, parent], join(temp.dir, "pyvhdi.raw"));
    expect(pyvhdi.sha256).toBe(sha256(expected));
  });

  it("refuses a destination that is not an ancestor, and a disk without a parent", async () => {
    const parent = await base("wrong");
    const leaf = await child(join(temp.dir, "wrong", "c.vhd"), parent, [[0, 4096]]);
    const stranger = await base("stranger");
    expectOneLineError(await runVhd(["merge", leaf, "--into", stranger]), "E_INVALIDARG", stranger);
    expectOneLineError(await runVhd(["merge", parent]), "ERROR_VHD_INVALID_TYPE", parent);
  });
});
