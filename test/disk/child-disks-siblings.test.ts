/**
 * The look for children (disk/child-disks.ts) against the files that sit beside disks in normal use, on this machine
 * and over SFTP to a real sshd: the project's own records, a create's temporary file at every stage of being written,
 * empty and short files, a large sparse file (an ISO), links that lead nowhere. None of them is a child, and none
 * may make a delete refuse. A file cut while it is read (a `cp` over a child) is another matter: its bytes are gone,
 * not found to be no disk, so the look fails naming it instead of taking it for no child.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { childDisksInFolder } from "../../provider/disk/child-disks";
import { inspectDisk } from "../../provider/disk/inspect";
import { isVhdError } from "../../provider/errors";
import { createBaseDisk } from "../../provider/ops/create-base";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { localStorage } from "../../provider/storage/local/local-storage";
import type { Storage } from "../../provider/storage/port";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../support/fixtures";
import { sshFixture, useSshd } from "../storage/ssh/ssh-fixture";

const MiB = 2 ** 20;
const sshd = useSshd();
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((clean) => clean()));

/** A folder on each storage: this machine's, and the test sshd's (skipped with its reason when sshd cannot run). */
const places: [string, (ctx: { skip: (reason: string) => void }) => { root: string; storage: Storage }][] = [
  ["this machine", () => {
    const root = mkdtempSync(join(tmpdir(), "child-siblings-"));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    return { root, storage: localStorage };
  }],
  ["an SFTP host", (ctx) => {
    const reason = sshd.unavailable();
    if (reason !== undefined) ctx.skip(reason);
    const fx = sshFixture(sshd.server());
    cleanups.push(() => void fx.cleanup());
    return { root: fx.root, storage: fx.storage };
  }],
];

/** golden.vhd (a fixture copy), a.vhd a child of it, golden.vhdx and ax.vhdx a child of that; a.vhd's linkage id. */
async function chain(root: string, storage: Storage): Promise<{ a: string; ax: string; aLinkId: string }> {
  const golden = join(root, "golden.vhd");
  copyFileSync(join(DFVFS_FIXTURES, "image.vhd"), golden);
  const a = join(root, "a.vhd");
  await createDifferencingDisk({ imagePath: a, parentPath: golden, storage });
  await createBaseDisk({ path: join(root, "golden.vhdx"), size: 8 * MiB, type: "dynamic", storage });
  const ax = join(root, "ax.vhdx");
  await createDifferencingDisk({ imagePath: ax, parentPath: join(root, "golden.vhdx"), storage });
  return { a, ax, aLinkId: (await inspectDisk(a, { storage })).uniqueId };
}

/** `storage` with `hook` run on the path of each open, `before` it or `after` it (another process acting on the file). */
function onOpen(storage: Storage, when: "before" | "after", hook: (path: string) => void): Storage {
  return new Proxy(storage, {
    get(target, key) {
      if (key === "open") {
        return async (path: string, options?: Parameters<Storage["open"]>[1]) => {
          if (when === "before") hook(path);
          const file = await target.open(path, options);
          if (when === "after") hook(path);
          return file;
        };
      }
      const value: unknown = Reflect.get(target, key);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe.each(places)("the look for children on %s", (_where, place) => {
  /** {@link chain} with b.vhd, a child of a.vhd. */
  async function grandchild(ctx: Parameters<typeof place>[0] & Parameters<typeof skipWithoutFixtures>[0]) {
    skipWithoutFixtures(ctx, DFVFS_FIXTURES);
    const { root, storage } = place(ctx);
    const { a, aLinkId } = await chain(root, storage);
    const b = join(root, "b.vhd");
    await createDifferencingDisk({ imagePath: b, parentPath: a, storage });
    return { root, storage, aLinkId, b };
  }

  it("takes none of the files that sit beside disks in normal use for a child, nor refuses over one", async (ctx) => {
    skipWithoutFixtures(ctx, DFVFS_FIXTURES);
    const { root, storage } = place(ctx);
    const { a, ax, aLinkId } = await chain(root, storage);
    const vhd = readFileSync(a);
    const vhdx = readFileSync(ax);
    const kept = new Set(readdirSync(root));
    const siblings: Record<string, () => void> = {
      "an empty file": () => writeFileSync(join(root, ".b.vhd.k3j.me-1.tmp"), ""),
      "100 bytes": () => writeFileSync(join(root, "notes.vhd"), Buffer.alloc(100, 1)),
      "511 zero bytes": () => writeFileSync(join(root, "x.vhd"), Buffer.alloc(511)),
      "an ownership record": () => writeFileSync(join(root, ".a.vhd.pulumi-vhd-owner"), JSON.stringify({ owner: "urn:x", uniqueId: "x" })),
      "a holds record and its lock": () => {
        writeFileSync(join(root, ".golden.vhd.pulumi-vhd-holds"), JSON.stringify({ modeBefore: 0o644, holders: [] }));
        writeFileSync(join(root, ".golden.vhd.pulumi-vhd-holds.lock"), "");
      },
      "a VHDX temp with only its signature": () => writeFileSync(join(root, ".c.vhdx.k3j.me-1.tmp"), Buffer.concat([Buffer.from("vhdxfile"), Buffer.alloc(2 * MiB)])),
      "a 5 GiB sparse ISO": () => {
        writeFileSync(join(root, "install.iso"), "");
        truncateSync(join(root, "install.iso"), 5 * 2 ** 30);
      },
      "a dangling link": () => symlinkSync(join(root, "nowhere.vhd"), join(root, "dangling.vhd")),
      "a link to a name too long for the file system": () => symlinkSync(`/${"x".repeat(300)}`, join(root, "long.vhd")),
      "a link to itself": () => symlinkSync(join(root, "loop.vhd"), join(root, "loop.vhd")),
      "a link to a folder": () => {
        mkdirSync(join(root, "folder"));
        symlinkSync(join(root, "folder"), join(root, "folder.vhd"));
      },
      // A child's create, caught at each stage of writing its temporary file.
      ...Object.fromEntries([512, 1024, 1536, 2048, 4096, vhd.length - 512, vhd.length - 1].map((bytes) => [
        `a VHD temp of ${bytes} bytes`,
        () => writeFileSync(join(root, ".d.vhd.k3j.me-1.tmp"), vhd.subarray(0, bytes)),
      ])),
      ...Object.fromEntries([8, 65536, MiB, MiB + 65536, 3 * MiB, vhdx.length - 1].map((bytes) => [
        `a VHDX temp of ${bytes} bytes`,
        () => writeFileSync(join(root, ".e.vhdx.k3j.me-1.tmp"), vhdx.subarray(0, bytes)),
      ])),
    };
    const found: Record<string, unknown> = {};
    for (const [name, make] of Object.entries(siblings)) {
      for (const entry of readdirSync(root)) if (!kept.has(entry)) rmSync(join(root, entry), { recursive: true, force: true });
      make();
      found[name] = await childDisksInFolder(root, aLinkId, [], storage).catch((error: unknown) => (isVhdError(error) ? error.code : error));
    }
    expect(found).toEqual(Object.fromEntries(Object.keys(siblings).map((name) => [name, []])));
  }, 120_000);

  it("a child removed between the listing and its open is no child; one removed once open is still read, and found", async (ctx) => {
    const { root, storage, aLinkId, b } = await grandchild(ctx);
    const bytes = readFileSync(b);
    const goneBeforeOpen = onOpen(storage, "before", (path) => path === b && unlinkSync(b));
    await expect(childDisksInFolder(root, aLinkId, [], goneBeforeOpen)).resolves.toEqual([]);
    writeFileSync(b, bytes);
    await expect(childDisksInFolder(root, aLinkId, [], onOpen(storage, "after", (path) => path === b && unlinkSync(b)))).resolves.toEqual([b]);
  }, 60_000);

  it("a child cut while it is read (a copy over it) fails the look, naming it: its bytes are gone, not found to be no disk", async (ctx) => {
    const { root, storage, aLinkId, b } = await grandchild(ctx);
    // What `cp other.vhd b.vhd` does to b.vhd first (O_TRUNC), between our open and our reads.
    const error = await childDisksInFolder(root, aLinkId, [], onOpen(storage, "after", (path) => path === b && truncateSync(b, 0))).catch((e: unknown) => e);
    expect(isVhdError(error) && error.code).toBe("ERROR_VHD_METADATA_READ_FAILURE");
    expect(isVhdError(error) && error.path).toBe(storage.describe(b));
    expect(String(error)).toContain("could not read this file beside the disk to tell whether it is a child of the disk");
    expect(String(error)).toContain("something cut it while in use");
  }, 60_000);
});
