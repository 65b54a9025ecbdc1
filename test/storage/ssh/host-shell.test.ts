/**
 * The connection's long-lived shell (host-shell.ts) against a real OpenSSH server: one exec channel for every helper
 * command of a connection, exact output and status, and a shell that ends (an abort, a command that kills it)
 * replaced by a fresh one.
 */
import { describe, expect, it, vi } from "vitest";
import { shellOf } from "../../../provider/storage/ssh/host-shell";
import { getSession } from "../../../provider/storage/ssh/session-pool";
import { connectionTo, useSshFixture, useSshd } from "./ssh-fixture";

const sshd = useSshd();

describe("the host's shell over one exec channel", () => {
  const current = useSshFixture(sshd);

  it("runs every helper command of a connection in one channel: fingerprints, volume facts, checksum", async () => {
    const { storage, join, root } = current();
    const session = await getSession(connectionTo(sshd.server()));
    const opened = vi.spyOn(session, "openChannel");
    const execs = vi.spyOn(session, "exec");
    const path = join("a.bin");
    const file = await storage.createExclusive(path);
    await file.write(0, new Uint8Array([1, 2, 3]));
    await file.close();
    const first = await storage.fingerprint(path);
    expect(await storage.fingerprint(path)).toEqual(first);
    expect(first).toMatchObject({ size: 3 });
    expect(first.ino).toMatch(/^\d+$/);
    expect(await storage.volumeFacts(root)).toMatchObject({ writable: true, readOnly: false });
    expect((await storage.volumeFacts(root)).fsType).not.toBe("unknown");
    expect((await storage.sha256(path)).sha256).toBe("039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81");
    expect(opened).toHaveBeenCalledTimes(1);
    expect(execs).not.toHaveBeenCalled();
  });

  it("gives each command its own stdout (no trailing newline added), stderr and exit status", async () => {
    const session = await getSession(connectionTo(sshd.server()));
    const shell = await shellOf(session);
    if (shell === undefined) throw new Error("the test server runs a POSIX shell");
    expect(shell.tools).toMatchObject({ shell: true, gnuStat: true });
    const [a, b] = await Promise.all([shell.run("printf 'no newline'; printf 'oops' >&2; exit_code() { return 7; }; exit_code"), shell.run("cat; echo done")]);
    expect(a).toEqual({ stdout: Buffer.from("no newline"), stderr: "oops", exitCode: 7 });
    // `cat` reads /dev/null, not the commands that follow in the shell's input.
    expect(b).toEqual({ stdout: Buffer.from("done\n"), stderr: "", exitCode: 0 });
  });

  it("an abort ends the shell and the command (exit status null); the next command gets a new shell", async () => {
    const { storage, join } = current();
    const session = await getSession(connectionTo(sshd.server()));
    const shell = await shellOf(session);
    if (shell === undefined) throw new Error("the test server runs a POSIX shell");
    const controller = new AbortController();
    const sleeping = shell.run("sleep 30", { signal: controller.signal, long: true });
    setImmediate(() => controller.abort());
    expect((await sleeping).exitCode).toBeNull();
    expect(shell.alive).toBe(false);
    const file = await storage.createExclusive(join("b.bin"));
    await file.close();
    expect((await storage.fingerprint(join("b.bin"))).ino).toMatch(/^\d+$/);
    const next = await shellOf(session);
    expect(next).not.toBe(shell);
    expect(next?.alive).toBe(true);
  });

  it("a command that ends the shell rejects; the storage opens another for the next one", async () => {
    const { storage, join } = current();
    const session = await getSession(connectionTo(sshd.server()));
    const shell = await shellOf(session);
    if (shell === undefined) throw new Error("the test server runs a POSIX shell");
    await expect(shell.run("exit 3")).rejects.toThrow(/shell on the host ended/);
    await expect(shell.run("true")).rejects.toThrow(/shell on the host ended/);
    const file = await storage.createExclusive(join("c.bin"));
    await file.close();
    expect((await storage.fingerprint(join("c.bin"))).ctimeNs).not.toBe("0");
  });
});
