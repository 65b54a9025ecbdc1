/**
 * The SSH adapter against a real OpenSSH server on loopback: one sshd per test file, a fresh folder per test. The
 * server runs on this machine, so the fixture sets cases up (symbolic links, edits behind the storage's back) with
 * node:fs and GNU touch on the same files.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, closeSync, rmSync, statSync, symlinkSync, writeSync } from "node:fs";
import { join, posix } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { createDifferencingDisk } from "../../../provider/ops/create-differencing";
import type { ConnectionArgs } from "../../../provider/storage/ssh/connection-args";
import { closeAllSessions } from "../../../provider/storage/ssh/session-pool";
import { SshStorage } from "../../../provider/storage/ssh/ssh-storage";
import { MIB, createBase } from "../../vhd/writer/disks";
import { sshdUnavailable, startSshd, type SshdOptions, type TestSshd } from "../../support/sshd";
import { nodeFsFixtureParts, type ConformanceFixture } from "../conformance";

/** Starts one sshd for the calling test file (when sshd is available) and returns its accessor and skip reason. */
export function useSshd(options: SshdOptions = {}): { server: () => TestSshd; unavailable: () => string | undefined } {
  const reason = sshdUnavailable();
  let server: TestSshd | undefined;
  beforeAll(async () => {
    if (reason === undefined) server = await startSshd(options);
  }, 30000);
  afterAll(async () => {
    await closeAllSessions();
    await server?.stop();
  });
  return {
    server: () => {
      if (server === undefined) throw new Error(`sshd is not running: ${reason ?? "it failed to start"}`);
      return server;
    },
    unavailable: () => reason,
  };
}

/** The connection to the test server, pinned to its host key. */
export function connectionTo(server: TestSshd, extra: Partial<ConnectionArgs> = {}): ConnectionArgs {
  return { host: server.host, port: server.port, user: server.user, privateKey: server.privateKey, hostKey: server.hostKey, ...extra };
}

/** A conformance fixture: an {@link SshStorage} and a fresh folder under the server's root. */
export function sshFixture(server: TestSshd, storage = new SshStorage(connectionTo(server))): ConformanceFixture {
  const root = mkdtempSync(join(server.root, "case-"));
  return {
    storage,
    root,
    join: (...names) => posix.join(root, ...names),
    ...nodeFsFixtureParts(root),
  };
}

/**
 * A fresh {@link sshFixture} for each test of the calling `describe` (skipping with the reason when sshd cannot run),
 * cleaned up with the pool afterwards; returns the accessor for the current one.
 */
export function useSshFixture(sshd: ReturnType<typeof useSshd>): () => ConformanceFixture {
  let fx: ConformanceFixture | undefined;
  beforeEach((context) => {
    const reason = sshd.unavailable();
    if (reason !== undefined) return context.skip(reason);
    fx = sshFixture(sshd.server());
  });
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
    await closeAllSessions();
  });
  return () => {
    if (fx === undefined) throw new Error("no fixture: the test should have been skipped");
    return fx;
  };
}

/**
 * On `fx`: golden.vhd (an 8 MiB dynamic disk of our writer's: these tests need no sample from another tool, so they
 * run where the samples are missing), a.vhd a child of it and b.vhd a child of a.vhd, made through the fixture's
 * storage; returns their paths and unique ids (what a delete expects).
 */
export async function remoteChain(fx: ConformanceFixture): Promise<{ a: string; b: string; aUniqueId: string; bUniqueId: string }> {
  const golden = fx.join("golden.vhd");
  await createBase(golden, { size: 8 * MIB, type: "dynamic", blockSize: 512 * 1024 });
  const [a, b] = [fx.join("a.vhd"), fx.join("b.vhd")];
  const disk = await createDifferencingDisk({ imagePath: a, parentPath: golden, storage: fx.storage });
  const child = await createDifferencingDisk({ imagePath: b, parentPath: a, storage: fx.storage });
  return { a, b, aUniqueId: disk.uniqueId, bUniqueId: child.uniqueId };
}
