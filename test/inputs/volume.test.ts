import { execFileSync } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nearestExistingFolder as nearestOn } from "../../provider/storage/folders";
import { localStorage } from "../../provider/storage/local/local-storage";
import { pathFacts, volumeFacts } from "../../provider/storage/local/volume";
import { skipMountRefused, makeTemp, mountReadOnlyBind, mountTmpfs, mountVfat, removeTemp, type TestMount } from "./fixtures";

const nearestExistingFolder = (folder: string) => nearestOn(localStorage, folder);
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

let temp: string;
const mounts: TestMount[] = [];

beforeEach(async () => {
  temp = await makeTemp("volume");
});

afterEach(async () => {
  for (const mount of mounts.splice(0)) await mount.unmount();
  await removeTemp(temp);
});

/** The file-system type `df` reports, as an outside opinion on what statfs said. */
function dfType(folder: string): string {
  return execFileSync("stat", ["-f", "-c", "%T", folder], { encoding: "utf8" }).trim();
}

describe("volumeFacts", () => {
  it("reports free space, type and writability of the temp folder's volume", async () => {
    const facts = await volumeFacts(temp);
    const statfs = await fsp.statfs(temp);
    expect(facts.folder).toBe(temp);
    // Others write to this volume meanwhile, so only the bounds are stable here; the tmpfs test checks exact bytes.
    expect(facts.freeBytes % statfs.bsize).toBe(0);
    expect(facts.freeBytes).toBeGreaterThan(0);
    expect(facts.freeBytes).toBeLessThanOrEqual(statfs.blocks * statfs.bsize);
    expect(facts.readOnly).toBe(false);
    expect(facts.writable).toBe(true);
    // `stat -f` names the same file system (ext2/ext3 for ext4, tmpfs, overlayfs, xfs, btrfs...).
    const outside = dfType(temp);
    expect(outside.startsWith(facts.fsType === "overlay" ? "overlay" : facts.fsType)).toBe(true);
  });

  it("detects tmpfs, its size and a read-only tmpfs on real mounts", async (context) => {
    const small = await mountTmpfs(temp, 6 * MIB);
    if (small === undefined) return skipMountRefused(context);
    mounts.push(small);
    const facts = await volumeFacts(small.path);
    expect(facts).toMatchObject({ fsType: "tmpfs", fsMagic: 0x01021994, readOnly: false, freeBytes: 6 * MIB });
    expect(facts.maxFileSize).toBe(Number.POSITIVE_INFINITY);

    const readOnly = await mountTmpfs(temp, 6 * MIB, { readOnly: true });
    if (readOnly === undefined) throw new Error("a tmpfs mounted but a read-only one did not");
    mounts.push(readOnly);
    expect(await volumeFacts(readOnly.path)).toMatchObject({ readOnly: true, writable: false });
  });

  it("detects a read-only bind mount of a writable folder", async (context) => {
    const source = path.join(temp, "source");
    await fsp.mkdir(source);
    const view = await mountReadOnlyBind(temp, source);
    if (view === undefined) return skipMountRefused(context);
    mounts.push(view);
    expect((await volumeFacts(source)).readOnly).toBe(false);
    expect(await volumeFacts(view.path)).toMatchObject({ readOnly: true, writable: false });
  });

  it("detects a real FAT volume (loop-mounted vfat) where this machine can mount one", async (context) => {
    const fat = await mountVfat(temp, 64 * MIB);
    if (fat === undefined) {
      return context.skip("no real FAT volume on this machine (mkfs.vfat or mount refused, said on stderr); the injected-type test covers the limits");
    }
    mounts.push(fat);
    expect(await volumeFacts(fat.path)).toMatchObject({ fsType: "fat", fsMagic: 0x4d44, maxFileSize: 4 * GIB - 1 });
  });

  it("takes an injected FAT type and its file-size limit (no FAT can be mounted here)", async () => {
    expect(await volumeFacts(temp, { assumeFsType: "fat32" })).toMatchObject({ fsType: "fat32", maxFileSize: 4 * GIB - 1 });
    expect(await volumeFacts(temp, { assumeFsType: "fat16" })).toMatchObject({ fsType: "fat16", maxFileSize: 2 * GIB - 1 });
    expect(await volumeFacts(temp, { assumeFsType: "fat" })).toMatchObject({ maxFileSize: 4 * GIB - 1 });
    expect((await volumeFacts(temp, { assumeFsType: "ntfs" })).maxFileSize).toBe(Number.POSITIVE_INFINITY);
  });

  it("refuses a missing folder with ERROR_PATH_NOT_FOUND", async () => {
    await expect(volumeFacts(path.join(temp, "absent"))).rejects.toMatchObject({
      code: "ERROR_PATH_NOT_FOUND",
      path: path.join(temp, "absent"),
    });
  });
});

describe("pathFacts", () => {
  it("tells files, folders, symbolic links (dangling too), missing paths and paths through a file", async () => {
    const file = path.join(temp, "f");
    await fsp.writeFile(file, "xyz");
    await fsp.symlink(path.join(temp, "nowhere"), path.join(temp, "dangling"));
    await fsp.symlink(file, path.join(temp, "link"));
    await fsp.chmod(file, 0o640);
    expect(await pathFacts(file)).toEqual({ kind: "file", size: 3, mode: 0o640, modifiedMs: (await fsp.stat(file)).mtimeMs });
    expect((await pathFacts(temp)).kind).toBe("folder");
    expect((await pathFacts(path.join(temp, "dangling"))).kind).toBe("symlink");
    expect((await pathFacts(path.join(temp, "link"))).kind).toBe("symlink");
    expect((await pathFacts(path.join(temp, "absent"))).kind).toBe("missing");
    expect((await pathFacts(path.join(file, "x.vhd"))).kind).toBe("through-file");
    expect((await pathFacts("/dev/null")).kind).toBe("other");
  });

  it("follows links when asked: a link to a file is that file, a dangling one is missing", async () => {
    const file = path.join(temp, "f");
    await fsp.writeFile(file, "xyz");
    await fsp.symlink(file, path.join(temp, "link"));
    await fsp.symlink(path.join(temp, "nowhere"), path.join(temp, "dangling"));
    await fsp.chmod(file, 0o600);
    expect(await pathFacts(path.join(temp, "link"), { followLinks: true })).toEqual({ kind: "file", size: 3, mode: 0o600, modifiedMs: (await fsp.stat(file)).mtimeMs });
    expect((await pathFacts(path.join(temp, "dangling"), { followLinks: true })).kind).toBe("missing");
  });
});

describe("nearestExistingFolder", () => {
  it("lists the folders that creating a chain would add, outermost first", async () => {
    const target = path.join(temp, "a", "b", "c");
    expect(await nearestExistingFolder(target)).toEqual({
      existing: temp,
      missing: [path.join(temp, "a"), path.join(temp, "a", "b"), target],
    });
    expect(await nearestExistingFolder(temp)).toEqual({ existing: temp, missing: [] });
  });

  it("has no existing folder when the chain leads through a file or a broken link", async () => {
    const file = path.join(temp, "f");
    await fsp.writeFile(file, "x");
    expect((await nearestExistingFolder(path.join(file, "sub"))).existing).toBeUndefined();
    expect((await nearestExistingFolder(file)).existing).toBeUndefined();
    await fsp.symlink(path.join(temp, "nowhere"), path.join(temp, "broken"));
    expect((await nearestExistingFolder(path.join(temp, "broken", "sub"))).existing).toBeUndefined();
  });
});
