/**
 * Shared helpers of the validation and ops tests: temporary folders, real mounts for faults (tmpfs, read-only bind
 * mounts) where this machine permits them, and the "nothing changed, nothing left" witness every failing case checks.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect, type TestContext } from "vitest";
import { DFVFS_FIXTURES } from "../support/fixtures";

/** A fresh folder under the OS temp folder; remove it with {@link removeTemp}. */
export async function makeTemp(label: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `vhd-${label}-`));
}

/**
 * Removes a folder {@link makeTemp} made; nothing for `undefined`, which a test skipped (no real samples here) before
 * its `beforeEach` made the folder passes, since `afterEach` still runs then.
 */
export async function removeTemp(folder: string | undefined): Promise<void> {
  if (folder !== undefined) await fsp.rm(folder, { recursive: true, force: true });
}

/**
 * Copies a dfvfs sample into `folder` and returns the copy's path. Callers skip first when the samples are missing
 * (`skipWithoutFixtures(context, DFVFS_FIXTURES)`).
 */
export async function copyFixture(name: string, folder: string, as = name): Promise<string> {
  const target = path.join(folder, as);
  await fsp.copyFile(path.join(DFVFS_FIXTURES, name), target);
  return target;
}

/** A fresh folder holding a copy of dfvfs `image.vhd` at `golden/parent.vhd`: the parent most validation cases use. */
export async function makeGoldenParent(label: string): Promise<{ temp: string; parentPath: string }> {
  const temp = await makeTemp(label);
  await fsp.mkdir(path.join(temp, "golden"));
  return { temp, parentPath: await copyFixture("image.vhd", path.join(temp, "golden"), "parent.vhd") };
}

/** A dynamic VHD of exactly `size` (qemu-img syntax, e.g. "4G") made by qemu-img (`force_size`: no CHS rounding). */
export function qemuDynamicDisk(file: string, size: string): string {
  execFileSync("qemu-img", ["create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", file, size]);
  return file;
}

/** A mounted file system that the test must unmount. */
export interface TestMount {
  path: string;
  unmount(): Promise<void>;
}

/** Undoes a test's setting: unmounts what it mounted (emptying `mounts`), then removes its folder. */
export async function cleanUpTest(temp: string | undefined, mounts: TestMount[]): Promise<void> {
  for (const mount of mounts.splice(0)) await mount.unmount();
  await removeTemp(temp);
}

let mountRefusal: string | undefined;

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Mounts a tmpfs of `sizeBytes` at a new folder under `parent`, read-only when asked. Returns undefined (and says
 * why on stderr, once) when this machine does not let us mount, so the caller can fall back to its injected variant.
 */
export async function mountTmpfs(
  parent: string,
  sizeBytes: number,
  options: { readOnly?: boolean } = {},
): Promise<TestMount | undefined> {
  const mountPoint = await fsp.mkdtemp(path.join(parent, "mnt-"));
  const flags = [`size=${sizeBytes}`, ...(options.readOnly ? ["ro"] : [])].join(",");
  return tryMount(mountPoint, ["-t", "tmpfs", "-o", flags, "tmpfs", mountPoint]);
}

/** Bind-mounts `source` read-only at a new folder under `parent` (a real read-only view of a writable folder). */
export async function mountReadOnlyBind(parent: string, source: string): Promise<TestMount | undefined> {
  const mountPoint = await fsp.mkdtemp(path.join(parent, "ro-"));
  const mounted = await tryMount(mountPoint, ["--bind", source, mountPoint]);
  if (mounted === undefined) return undefined;
  try {
    run("mount", ["-o", "remount,bind,ro", mountPoint]);
  } catch (error) {
    await mounted.unmount();
    noteRefusal(error);
    return undefined;
  }
  return mounted;
}

/**
 * Makes a FAT32 file system in an image file under `parent` and loop-mounts it, or returns undefined and says why
 * (no mkfs.vfat, no loop devices, or a kernel without vfat, as in many containers). Independent of the tmpfs
 * attempts: a machine may mount tmpfs but not vfat.
 */
export async function mountVfat(parent: string, sizeBytes: number): Promise<TestMount | undefined> {
  const image = path.join(parent, "fat32.img");
  const mountPoint = await fsp.mkdtemp(path.join(parent, "fat-"));
  try {
    await fsp.writeFile(image, Buffer.alloc(0));
    await fsp.truncate(image, sizeBytes);
    run("mkfs.vfat", ["-F", "32", image]);
    run("mount", ["-o", "loop", image, mountPoint]);
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    console.warn(`no real FAT volume on this machine (${stderr || String(error)}); the injected FAT type is tested instead`);
    await fsp.rmdir(mountPoint);
    await fsp.rm(image, { force: true });
    return undefined;
  }
  return {
    path: mountPoint,
    async unmount() {
      run("umount", [mountPoint]);
      await fsp.rmdir(mountPoint);
      await fsp.rm(image, { force: true });
    },
  };
}

async function tryMount(mountPoint: string, args: string[]): Promise<TestMount | undefined> {
  if (mountRefusal !== undefined) return undefined;
  try {
    run("mount", args);
  } catch (error) {
    noteRefusal(error);
    await fsp.rmdir(mountPoint);
    return undefined;
  }
  return {
    path: mountPoint,
    async unmount() {
      run("umount", [mountPoint]);
      await fsp.rmdir(mountPoint);
    },
  };
}

/**
 * For a test whose real mount was refused: asserts that the refusal came from `mount` itself (and was reported on
 * stderr), so the test still fails when mounting broke for another reason, then skips the test with that reason
 * (reported as skipped, never as passed; `.ci/run` counts it). Its injected variant runs elsewhere.
 */
export function skipMountRefused(context: TestContext): never {
  expect(mountRefusal).toEqual(expect.any(String));
  return context.skip(`this machine does not permit mount (${mountRefusal ?? "no reason given"}); the injected variant runs instead`);
}

function noteRefusal(error: unknown): void {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
  mountRefusal = stderr || (error instanceof Error ? error.message : String(error));
  console.warn(`mount is not permitted on this machine (${mountRefusal}); only the injected-fault variants run`);
}

/** What a file looked like: its bytes' hash and its mtime. */
export interface FileSnapshot {
  sha256: string;
  mtimeMs: number;
  size: number;
}

export async function snapshotFile(file: string): Promise<FileSnapshot> {
  const [bytes, stats] = await Promise.all([fsp.readFile(file), fsp.stat(file)]);
  return { sha256: createHash("sha256").update(bytes).digest("hex"), mtimeMs: stats.mtimeMs, size: stats.size };
}

/**
 * Records a folder's entries, what is at `imagePath` and a parent's bytes before an operation that must fail, and
 * checks afterwards that nothing was created at `imagePath` (or, if something was there, that it is untouched), no
 * entry (temporary file or folder) was added to or removed from the folder, and the parent is unchanged (same hash,
 * same mtime).
 */
export async function witness(options: { folder: string; imagePath: string; parentPath?: string }) {
  const before = await listEntries(options.folder);
  const atImage = await entryAt(options.imagePath);
  const parent = options.parentPath === undefined ? undefined : await snapshotFile(options.parentPath);
  return {
    async expectNothingChanged(): Promise<void> {
      expect(await entryAt(options.imagePath)).toEqual(atImage);
      expect(await listEntries(options.folder)).toEqual(before);
      if (parent !== undefined && options.parentPath !== undefined) {
        expect(await snapshotFile(options.parentPath)).toEqual(parent);
      }
    },
  };
}

/** What is at a path (not following links): absent, or its identity and times. */
async function entryAt(target: string): Promise<string> {
  const stats = await fsp.lstat(target).catch(() => undefined);
  return stats === undefined ? "absent" : `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.mode}`;
}

async function listEntries(folder: string): Promise<string[] | "missing"> {
  try {
    return (await fsp.readdir(folder, { recursive: true })).sort();
  } catch {
    return "missing";
  }
}
