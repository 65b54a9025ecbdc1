/**
 * The built `vhd` on a remote host whose disk folder is a small tmpfs (test/support/tmpfs.ts) behind a real OpenSSH
 * server on loopback: a full volume and a read-only mount each fail `create-differencing` with one clear line naming
 * the error, its HRESULT, the host and the path, and leave nothing behind: no file at imagePath, no temporary file,
 * no folder the create made; the parent is unchanged. Once the fault is gone, the same command succeeds. A convert
 * whose writes fill the volume fails the same way.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sshdUnavailable, startSshd, type TestSshd } from "../support/sshd";
import { mountTmpfs, type TmpfsMount } from "../support/tmpfs";
import { makeGoldenImage } from "../resource/e2e-support";
import { expectOneLineError, makeTempDir, runVhd, runVhdOk, type VhdRun } from "./cli-process";

const temp = makeTempDir("remote-faults");
let server: TestSshd | undefined;
let volume: TmpfsMount | undefined;
let skipReason = sshdUnavailable();
let identity = "";

beforeAll(async () => {
  if (skipReason !== undefined) return;
  server = await startSshd();
  identity = join(temp.dir, "id_test");
  writeFileSync(identity, server.privateKey, { mode: 0o600 });
  await makeGoldenImage(join(server.root, "golden.vhd"));
  // 16 MiB: above the 8 MB a create asks to be free (ERROR_DISK_FULL's row), so it succeeds once emptied.
  const mounted = mountTmpfs(join(server.root, "vms"), 16 * 1024 * 1024);
  if (typeof mounted === "string") skipReason = mounted;
  else volume = mounted;
}, 30000);

afterAll(async () => {
  try {
    volume?.unmount();
  } finally {
    await server?.stop();
    temp.remove();
  }
});

const url = (path: string): string => `ssh://${server!.user}@${server!.host}:${server!.port}${path}`;
const goldenSum = (): string => createHash("sha256").update(readFileSync(join(server!.root, "golden.vhd"))).digest("hex");

/** `vhd create-differencing` of `<vms>/<image>` off the remote golden image, with the test key and host key. */
function createChild(image: string): Promise<VhdRun> {
  const args = ["create-differencing", url(join(volume!.path, image)), url(join(server!.root, "golden.vhd"))];
  return runVhd([...args, "--identity", identity, "--host-key", server!.hostKeyFingerprint]);
}

/** Fails as `code` naming the host and the image path, and leaves the disk folder as it was. */
function expectCleanFailure(run: VhdRun, code: "ERROR_DISK_FULL" | "ERROR_INVALID_DRIVE", image: string, before: string[]): void {
  expectOneLineError(run, code);
  expect(run.stderr).toContain(`${server!.host}:${server!.port}`);
  expect(run.stderr).toContain(join(volume!.path, image.split("/")[0]!));
  expect(readdirSync(volume!.path).sort()).toEqual(before);
}

describe("vhd create-differencing on a remote volume with a fault", () => {
  it("a full volume: ERROR_DISK_FULL naming the host, nothing left; after space is freed it succeeds", async (context) => {
    if (skipReason !== undefined) return context.skip(skipReason);
    const sum = goldenSum();
    volume!.fill();
    try {
      expectCleanFailure(await createChild("web/os.vhd"), "ERROR_DISK_FULL", "web/os.vhd", ["filler"]);
    } finally {
      volume!.unfill();
    }
    expect(goldenSum()).toBe(sum);
    const retry = await createChild("web/os.vhd");
    expect(retry.status, retry.stderr).toBe(0);
    await runVhdOk(["verify", url(join(volume!.path, "web/os.vhd")), "--identity", identity, "--host-key", server!.hostKeyFingerprint]);
  });

  it("a read-only mount: ERROR_INVALID_DRIVE naming the host, nothing left; after remounting rw it succeeds", async (context) => {
    if (skipReason !== undefined) return context.skip(skipReason);
    const before = readdirSync(volume!.path).sort();
    volume!.remount("ro");
    try {
      expectCleanFailure(await createChild("ro.vhd"), "ERROR_INVALID_DRIVE", "ro.vhd", before);
      expectCleanFailure(await createChild("sub/ro.vhd"), "ERROR_INVALID_DRIVE", "sub/ro.vhd", before);
    } finally {
      volume!.remount("rw");
    }
    const retry = await createChild("ro.vhd");
    expect(retry.status, retry.stderr).toBe(0);
    expect(existsSync(join(volume!.path, "ro.vhd"))).toBe(true);
  });

  it("a volume that fills up mid-write: convert of a local disk larger than the free space is ERROR_DISK_FULL, exit 1, nothing left", async (context) => {
    if (skipReason !== undefined) return context.skip(skipReason);
    // 24 MiB of data for a 16 MiB volume: the check before writing passes (8 MB free), a write fails on ENOSPC. The
    // cause is asked of the host after the failed write; that request once went untracked, and the process, held
    // by nothing else (the source all read ahead), exited 0 with no word, its temporary file left on the host.
    const raw = join(temp.dir, "data.raw");
    writeFileSync(raw, randomBytes(24 * 1024 * 1024));
    const source = join(temp.dir, "data.vhd");
    await runVhdOk(["create", source, "--from", raw, "--quiet"]);
    const before = readdirSync(volume!.path).sort();
    const target = url(join(volume!.path, "big/copy.vhd"));
    const run = await runVhd(["convert", source, target, "--identity", identity, "--host-key", server!.hostKeyFingerprint, "--quiet"]);
    expectCleanFailure(run, "ERROR_DISK_FULL", "big/copy.vhd", before);
  });
});
