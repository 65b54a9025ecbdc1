/**
 * The connection's stat loop (stat-shell.ts) against a real OpenSSH server whose `stat` hangs on one path, as `stat`
 * of a path on an NFS mount whose server is gone does: the server's sessions find a `stat` first on their PATH
 * (sshd_config `SetEnv`) that sleeps for a path under `hung-mount/` and runs the real one for any other. The question
 * about that path ends in `ERROR_TIMEOUT` once the connection's answer bound has passed (its real length: it is no
 * setting), the loop is closed, and the next question is answered right, by a loop that is not the stuck one.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SshStorage } from "../../../provider/storage/ssh/ssh-storage";
import { expectVhdError } from "../conformance";
import type { TestSshd } from "../../support/sshd";
import { connectionTo, useSshd } from "./ssh-fixture";

/** A folder of this machine holding the `stat` the server's sessions run (the server runs on this machine). */
const fakeBin = mkdtempSync(join(tmpdir(), "vhd-hanging-stat-"));
writeFileSync(
  join(fakeBin, "stat"),
  ["#!/bin/sh", 'case "$*" in *hung-mount/*) exec sleep 600;; esac', 'exec /usr/bin/stat "$@"', ""].join("\n"),
  { mode: 0o755 },
);
afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));

const sshd = useSshd({ extraConfig: [`SetEnv PATH=${fakeBin}:/usr/local/bin:/usr/bin:/bin`] });

/** A fresh folder on `server` with a file and one under `hung-mount/`, and a storage of its own connection. */
function files(server: TestSshd) {
  const folder = mkdtempSync(join(server.root, "stat-timeout-"));
  const [plain, hung] = [join(folder, "golden.vhd"), join(folder, "hung-mount", "golden.vhd")];
  mkdirSync(dirname(hung));
  writeFileSync(plain, Buffer.alloc(1000, 1));
  writeFileSync(hung, Buffer.alloc(2000, 2));
  return { folder, plain, hung, storage: new SshStorage(connectionTo(server)), local: statSync(plain, { bigint: true }) };
}

describe("a stat loop whose stat hangs", () => {
  it("gives up the question with ERROR_TIMEOUT naming the host and the question, and answers the next one right", async (context) => {
    const reason = sshd.unavailable();
    if (reason !== undefined) return context.skip(reason);
    const server = sshd.server();
    const { folder, plain, hung, storage, local } = files(server);
    const first = await storage.fingerprint(plain, "parentPath");
    // GNU stat's answer (device and inode), not SFTP's fallback: the loop answered.
    expect(first).toMatchObject({ dev: String(local.dev), ino: String(local.ino), size: 1000 });

    const error = await expectVhdError(storage.fingerprint(hung, "parentPath"), "ERROR_TIMEOUT");
    const host = `ssh://${server.user}@${server.host}:${server.port}`;
    expect(error.message).toContain(
      `parentPath "${host}${hung}": ${host}: could not read the file's fingerprint: the host did not answer in time ` +
        "(no answer within 15 s from stat on the host",
    );

    // The stuck loop would answer the next question with the hung one's answer, or not at all: a new loop answers it.
    expect(await storage.fingerprint(plain, "parentPath")).toEqual(first);
    // A question that asks only a loop already open (ssh-storage.ts volumeFacts) is answered too.
    expect((await storage.volumeFacts(folder)).fsType).not.toBe("unknown");
  });
  it("answers a question asked behind the stuck one by GNU stat on a new loop, not by SFTP's weaker fingerprint", async (context) => {
    const reason = sshd.unavailable();
    if (reason !== undefined) return context.skip(reason);
    const { plain, hung, storage, local } = files(sshd.server());
    // The loop is open (this answer is GNU stat's), so both questions below go to it, the plain one behind the hung one.
    expect(await storage.fingerprint(plain)).toMatchObject({ dev: String(local.dev), ino: String(local.ino) });

    const stuck = expectVhdError(storage.fingerprint(hung), "ERROR_TIMEOUT");
    const behind = storage.fingerprint(plain);
    await stuck;
    // SFTP's fallback (dev "sftp", no inode) would make any two such files "the same file" (facts.ts sameFile).
    expect(await behind).toMatchObject({ dev: String(local.dev), ino: String(local.ino), size: 1000 });
  });
});
