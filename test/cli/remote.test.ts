/**
 * The built `vhd` on `ssh://` paths against a real OpenSSH server on loopback (test/support/sshd.ts): the same
 * commands on a remote golden image and on a local copy of it give the same answers; a chain made and written over
 * SSH, copied back, reads the same in pyvhdi (libvhdi) as in ours, locally and remotely; a wrong host key is refused
 * naming the host, and the process exits on its own (the session pool is closed).
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pyvhdiReadChain } from "../support/oracles";
import { sshdUnavailable, startSshd, type TestSshd } from "../support/sshd";
import { makeGoldenImage } from "../resource/e2e-support";
import { runProcess } from "../support/run-process";
import { CLI_MAIN, expectOneLineError, makeTempDir, runVhd, runVhdOk, startVhd } from "./cli-process";

const unavailable = sshdUnavailable();
const temp = makeTempDir("remote");
let server: TestSshd | undefined;
let identity = "";

beforeAll(async () => {
  if (unavailable !== undefined) return;
  server = await startSshd();
  identity = join(temp.dir, "id_test");
  writeFileSync(identity, server.privateKey, { mode: 0o600 });
  await makeGoldenImage(join(server.root, "golden.vhd"));
  // The same layout and parent time stamp in both places, so the children's parent links read alike.
  copyFileSync(join(server.root, "golden.vhd"), join(temp.dir, "golden.vhd"));
  const { atime, mtime } = statSync(join(server.root, "golden.vhd"));
  utimesSync(join(temp.dir, "golden.vhd"), atime, mtime);
}, 30000);

afterAll(async () => {
  await server?.stop();
  temp.remove();
});

/** The URL of `name` under the server's disk root. */
const url = (name: string): string => `ssh://${server!.user}@${server!.host}:${server!.port}${join(server!.root, name)}`;
/** `text` as a regular expression matching it literally. */
const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A command on ssh:// paths, with the test key and the host key pinned by fingerprint. */
const remote = (args: string[]): string[] => [...args, "--identity", identity, "--host-key", server!.hostKeyFingerprint];

/**
 * `vhd inspect --json` of a disk under `root`, with `root` (as named in the output, as a host path, and in Windows
 * spelling, as parent locators store it) written `<root>` and the disk's own unique id and time stamp left out: what
 * two disks made the same way in two places share.
 */
function placeless(text: string, root: string, named = root): Record<string, unknown> {
  const windowsRoot = root.replaceAll("/", "\\");
  const info = JSON.parse(text, (_key, value: unknown) =>
    typeof value === "string" ? value.replaceAll(named, "<root>").replaceAll(root, "<root>").replaceAll(windowsRoot, "<root>") : value,
  ) as Record<string, unknown>;
  const { uniqueId: _uniqueId, fileId: _fileId, timestamp: _timestamp, ...rest } = info;
  return rest;
}

describe("vhd on ssh:// paths", () => {
  it("create-differencing, write, read, inspect, verify and checksum answer as on a local copy", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const local = (name: string): string => join(temp.dir, name);
    await runVhdOk(["create-differencing", local("vms/child.vhd"), local("golden.vhd"), "--json"]);
    await runVhdOk(remote(["create-differencing", url("vms/child.vhd"), url("golden.vhd"), "--json"]));
    expect(existsSync(join(server!.root, "vms", "child.vhd"))).toBe(true);

    const data = Buffer.alloc(70 * 1024, 7);
    await runVhdOk(["write", local("vms/child.vhd"), "--offset", "1MiB", "--json"], { input: data });
    await runVhdOk(remote(["write", url("vms/child.vhd"), "--offset", "1MiB", "--json"]), { input: data });

    const localInfo = (await runVhdOk(["inspect", local("vms/child.vhd"), "--json"])).text;
    const remoteInfo = (await runVhdOk(remote(["inspect", url("vms/child.vhd"), "--json"]))).text;
    expect(placeless(remoteInfo, server!.root, url(""))).toEqual(placeless(localInfo, temp.dir));
    expect(JSON.parse(remoteInfo)).toMatchObject({ type: "differencing", path: url("vms/child.vhd") });

    const range = ["--offset", "960KiB", "--length", "256KiB", "--force"];
    const readLocal = (await runVhdOk(["read", local("vms/child.vhd"), ...range])).stdout;
    const readRemote = (await runVhdOk(remote(["read", url("vms/child.vhd"), ...range]))).stdout;
    expect(readRemote.equals(readLocal)).toBe(true);
    expect(readRemote.subarray(64 * 1024, 64 * 1024 + data.length).equals(data)).toBe(true);

    expect(JSON.parse((await runVhdOk(remote(["verify", url("vms/child.vhd"), "--json"]))).text)).toMatchObject({ ok: true });
    const sumLocal = JSON.parse((await runVhdOk(["checksum", local("golden.vhd"), "--json"])).text) as { sha256: string };
    const sumRemote = JSON.parse((await runVhdOk(remote(["checksum", url("golden.vhd"), "--json"]))).text) as { sha256: string };
    expect(sumRemote.sha256).toBe(sumLocal.sha256);
  });

  it("a depth-3 chain made and written through ssh://, copied back with sftp, reads the same in pyvhdi, locally and remotely", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    // golden <- a <- b <- c, every child made and written over SSH; writes in whole 4 KiB units (libvhdi's bitmap
    // bug, test/support/oracles.ts), overlapping between layers so each layer's sectors show through.
    await runVhdOk(remote(["create-differencing", url("chain/a.vhd"), url("golden.vhd")]));
    await runVhdOk(remote(["create-differencing", url("chain/b.vhd"), "a.vhd"]));
    await runVhdOk(remote(["create-differencing", url("chain/c.vhd"), "b.vhd"]));
    const writes: Array<[string, number, Buffer]> = [
      ["a", 1024 * 1024, Buffer.alloc(128 * 1024, 0x11)],
      ["b", 1024 * 1024 + 64 * 1024, Buffer.alloc(128 * 1024, 0x22)],
      ["c", 0, Buffer.alloc(4096, 0x33)],
      ["c", 3 * 1024 * 1024, randomBytes(8192)],
    ];
    for (const [disk, offset, data] of writes) {
      await runVhdOk(remote(["write", url(`chain/${disk}.vhd`), "--offset", String(offset)]), { input: data });
    }
    const copy = join(temp.dir, "copy");
    mkdirSync(join(copy, "chain"), { recursive: true });
    // Copied back over one SFTP connection by OpenSSH's own client, the way a user would fetch them.
    const batch = ["golden.vhd", "chain/a.vhd", "chain/b.vhd", "chain/c.vhd"]
      .map((name) => `get ${join(server!.root, name)} ${join(copy, name)}`)
      .join("\n");
    const sftp = await runProcess("sftp", [
      "-q", "-b", "-", "-P", String(server!.port), "-i", identity, "-o", `UserKnownHostsFile=${server!.knownHostsPath}`,
      "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `${server!.user}@${server!.host}`,
    ], { input: `${batch}\n`, timeout: 120_000 });
    expect(sftp.status, `${sftp.stderr.toString("utf8")}${sftp.signal ?? ""}`).toBe(0);

    const localChain = ["c", "b", "a"].map((disk) => join(copy, "chain", `${disk}.vhd`));
    const theirs = await pyvhdiReadChain([...localChain, join(copy, "golden.vhd")], join(temp.dir, "pyvhdi.raw"));
    const local = (await runVhdOk(["read", localChain[0]!, "--force"])).stdout;
    const overSsh = (await runVhdOk(remote(["read", url("chain/c.vhd"), "--force"]))).stdout;
    const sha = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");
    expect(theirs.mediaSize).toBe(local.length);
    expect(theirs.sha256).toBe(sha(local));
    expect(sha(overSsh)).toBe(sha(local));
    // And the writes are where they were put: a layer below shows through where the one above wrote nothing.
    for (const [disk, offset, data] of writes.filter(([disk]) => disk !== "a")) {
      expect(local.subarray(offset, offset + data.length).equals(data), `${disk} at ${offset}`).toBe(true);
    }
    expect(local.subarray(1024 * 1024, 1024 * 1024 + 64 * 1024).equals(Buffer.alloc(64 * 1024, 0x11))).toBe(true);
    expect(local.subarray(4096, 64 * 1024).equals(Buffer.alloc(60 * 1024, 0x5a))).toBe(true);
  });

  it("a wrong host key is refused with the host named, and nothing is made", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const wrongKey = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const run = await runVhd(["create-differencing", url("vms/nope.vhd"), url("golden.vhd"), "--identity", identity, "--host-key", wrongKey]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("SEC_E_WRONG_PRINCIPAL");
    expect(run.stderr).toContain(`${server!.host}:${server!.port}`);
    expect(existsSync(join(server!.root, "vms", "nope.vhd"))).toBe(false);
  });

  it("with no way to check the host key, the error names the CLI's options, not the provider's inputs", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    // A HOME without ~/.ssh/known_hosts, so no default applies.
    const run = await runVhd(["inspect", url("golden.vhd"), "--identity", identity], { env: { HOME: temp.dir } });
    expectOneLineError(run, "E_INVALIDARG");
    expect(run.stderr).toContain(`${server!.host}:${server!.port}`);
    for (const option of ["--host-key", "--known-hosts", "--no-host-key-checking"]) expect(run.stderr).toContain(option);
    expect(run.stderr).not.toContain("connection.");
  });

  it("paths on two hosts in one command are refused", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const other = `ssh://${server!.user}@127.0.0.2:${server!.port}${join(server!.root, "golden.vhd")}`;
    const run = await runVhd(remote(["create-differencing", url("vms/two.vhd"), other]));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("E_INVALIDARG");
  });

  const json = async (args: string[]): Promise<Record<string, unknown>> => JSON.parse((await runVhdOk(remote([...args, "--json"]))).text) as Record<string, unknown>;

  /** Skips unless the disks an earlier test of this group made are there. */
  const needs = (context: { skip: (note: string) => void }, name: string): void => {
    if (unavailable !== undefined) return context.skip(unavailable);
    if (!existsSync(join(server!.root, "named", name))) return context.skip(`named/${name} was not made by the test before`);
  };

  it("create-differencing names the new disk, its parent and chain by their ssh://user@host:port URLs", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const made = await json(["create-differencing", url("named/a.vhd"), url("golden.vhd")]);
    expect(made).toMatchObject({ path: url("named/a.vhd"), parent: { resolvedPath: url("golden.vhd") }, chain: [{ path: url("golden.vhd") }] });
    // A parent locator holds what the file stores, not a path on the host.
    expect(JSON.stringify((made.parent as { locators: unknown }).locators)).not.toContain("ssh://");
    await json(["create-differencing", url("named/b.vhd"), url("named/a.vhd")]);
  });

  it("inspect --parent-facts and verify name every path by its URL", async (context) => {
    needs(context, "b.vhd");
    expect(await json(["inspect", url("named/b.vhd"), "--parent-facts"])).toMatchObject({
      path: url("named/b.vhd"),
      parentFacts: { parentPath: url("named/a.vhd"), ancestors: { [url("golden.vhd")]: expect.any(Object) } },
    });
    expect(await json(["verify", url("named/b.vhd")])).toMatchObject({ ok: true, path: url("named/b.vhd") });
  });

  it("inspect's human output and write name the disk by its URL", async (context) => {
    needs(context, "b.vhd");
    expect((await runVhdOk(remote(["inspect", url("named/a.vhd")]))).text).toMatch(new RegExp(`^image: +${escaped(url("named/a.vhd"))}$`, "m"));
    expect(await json(["write", url("named/b.vhd"), "--offset", "0"])).toMatchObject({ path: url("named/b.vhd") });
  });

  it("convert and set-parent name every path by its URL", async (context) => {
    needs(context, "b.vhd");
    expect(await json(["convert", url("named/b.vhd"), url("named/b.raw")])).toMatchObject({ source: url("named/b.vhd"), target: url("named/b.raw") });
    copyFileSync(join(server!.root, "named", "a.vhd"), join(server!.root, "named", "a-moved.vhd"));
    expect(await json(["set-parent", url("named/b.vhd"), url("named/a-moved.vhd")])).toMatchObject({
      path: url("named/b.vhd"),
      parentPath: url("named/a-moved.vhd"),
    });
  });

  it("merge names the merged disk and the destination by their URLs", async (context) => {
    needs(context, "a-moved.vhd");
    expect(await json(["merge", url("named/b.vhd")])).toMatchObject({ merged: [url("named/b.vhd")], destination: { path: url("named/a-moved.vhd") } });
  });

  it("a merge refused for a disk another resource owns names the disk and its ownership record by their URLs", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    mkdirSync(join(server!.root, "owned"));
    await runVhdOk(remote(["create-differencing", url("owned/a.vhd"), url("golden.vhd")]));
    const { uniqueId } = await json(["inspect", url("owned/a.vhd")]);
    const owner = "urn:pulumi:prod::p::pulumi-nodejs:dynamic/vhd:DifferencingDisk::web";
    writeFileSync(join(server!.root, "owned", ".a.vhd.pulumi-vhd-owner"), JSON.stringify({ owner, uniqueId }));
    const refused = await runVhd(remote(["merge", url("owned/a.vhd")]));
    expectOneLineError(refused, "ERROR_SHARING_VIOLATION", url("owned/a.vhd"));
    expect(refused.stderr).toContain(
      `${url("owned/a.vhd")} is managed by another resource, ${owner} (ownership record ${url("owned/.a.vhd.pulumi-vhd-owner")}), ` +
        "and the merge would delete it",
    );
  });

  it("checksum of a URL written without user and port names the file in full", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    // Written without user and port, as ssh users do: the output names the file in full.
    const short = `ssh://${server!.host}:${server!.port}${join(server!.root, "golden.vhd")}`;
    const sum = (await runVhdOk(remote(["checksum", short]))).text;
    expect(sum).toMatch(new RegExp(`^[0-9a-f]{64}  ${escaped(url("golden.vhd"))}\n$`));
  });

  it("checksum dials before loading ssh2 and authenticates with the key alone: no `none` request, one command, then exits", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    // A preload beside the real run (real CLI, real sshd): it records, in order, the socket's connect, the load of
    // ssh2 and the protocol's own messages (ssh2's `debug` hook), and prints them as the process exits.
    const hook = join(temp.dir, "dial-events.cjs");
    writeFileSync(
      hook,
      `const Module = require("node:module"); const net = require("node:net"); const events = [];
      const connect = net.Socket.prototype.connect;
      net.Socket.prototype.connect = function (...args) { events.push("tcp connect"); return connect.apply(this, args); };
      const load = Module._load;
      Module._load = function (request, ...rest) {
        const loaded = load.call(this, request, ...rest);
        if (request === "ssh2" && !events.includes("ssh2 loaded")) {
          events.push("ssh2 loaded");
          const dial = loaded.Client.prototype.connect;
          loaded.Client.prototype.connect = function (config) {
            return dial.call(this, { ...config, debug: (line) => /USERAUTH_REQUEST|exec:/.test(line) && events.push(line) });
          };
        }
        return loaded;
      };
      process.on("exit", () => process.stderr.write(JSON.stringify(events)));`,
    );
    const run = await runVhd(remote(["checksum", url("golden.vhd")]), { env: { NODE_OPTIONS: `--require ${hook}` } });
    expect(run.status, run.stderr).toBe(0);
    const events = JSON.parse(run.stderr) as string[];
    // The connection first, so that loading ssh2 overlaps the handshake and sshd's start of the connection's process.
    expect(events.indexOf("tcp connect")).toBeGreaterThanOrEqual(0);
    expect(events.indexOf("tcp connect")).toBeLessThan(events.indexOf("ssh2 loaded"));
    // The key's query and its signed request, no `none` first (authMethods in session-pool.ts).
    const auth = events.filter((line) => line.includes("USERAUTH_REQUEST"));
    expect(auth).toEqual([expect.stringMatching(/publickey -- check/), expect.stringMatching(/\(publickey\)/)]);
    // One command, the hash; the other channel is SFTP's.
    expect(events.filter((line) => line.includes("exec:"))).toEqual([expect.stringMatching(/exec: openssl dgst -sha256/)]);
  });

  it("errors raised by the validation and format layers name the file by its ssh:// URL", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    writeFileSync(join(server!.root, "notes.txt"), "not a disk\n".repeat(100));
    const notADisk = await runVhd(remote(["inspect", url("notes.txt"), "--json"]));
    expect(notADisk.status).toBe(1);
    expect(JSON.parse(notADisk.stderr)).toMatchObject({ path: url("notes.txt") });
    await runVhdOk(remote(["create-differencing", url("errors/c.vhd"), url("golden.vhd")]));
    const exists = await runVhd(remote(["create-differencing", url("errors/c.vhd"), url("golden.vhd")]));
    expectOneLineError(exists, "ERROR_ALREADY_EXISTS", url("errors/c.vhd"));
    const missing = await runVhd(remote(["create-differencing", url("errors/d.vhd"), url("no-such-golden.vhd")]));
    expectOneLineError(missing, "ERROR_PATH_NOT_FOUND", url("no-such-golden.vhd"));
    expect(existsSync(join(server!.root, "errors", "d.vhd"))).toBe(false);
    const offEnd = await runVhd(remote(["read", url("errors/c.vhd"), "--offset", "16MiB", "--length", "1", "--force"]));
    expect(offEnd.stderr).toContain(JSON.stringify(url("errors/c.vhd")));
  });

  it("verify's chain check and a lost parent's error name every disk of the chain by its URL, in the text too", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    /** `text` with the URLs taken out: what is left must not name a file on the host by its bare path. */
    const bare = (text: string): string => text.replaceAll(url(""), "<url>/");
    await runVhdOk(remote(["create-differencing", url("lost/p.vhd"), url("golden.vhd")]));
    await runVhdOk(remote(["create-differencing", url("lost/c.vhd"), url("lost/p.vhd")]));
    const verified = (await runVhdOk(remote(["verify", url("lost/c.vhd")]))).text;
    expect(verified).toContain(`${url("lost/c.vhd")} -> ${url("lost/p.vhd")} -> ${url("golden.vhd")}`);
    expect(bare(verified)).not.toContain(server!.root);

    execFileSync("mv", [join(server!.root, "lost", "p.vhd"), join(server!.root, "lost", "p.moved")]);
    const failed = await runVhd(remote(["verify", url("lost/c.vhd")]));
    expect(failed.status).toBe(1);
    expect(failed.text).toContain(`Tried: ${url("lost/p.vhd")}`);
    const inspected = (await runVhdOk(remote(["inspect", url("lost/c.vhd")]))).text;
    const read = await runVhd(remote(["read", url("lost/c.vhd"), "--length", "512", "--force"]));
    expectOneLineError(read, "ERROR_VHD_PARENT_VHD_NOT_FOUND", url("lost/c.vhd"));
    for (const text of [failed.text, inspected, read.stderr]) expect(bare(text)).not.toContain(server!.root);
  });

  it("a folder with a line break in its name (no command carries it: SFTP alone) works as it does locally", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    mkdirSync(join(server!.root, "two\nlines"));
    copyFileSync(join(server!.root, "golden.vhd"), join(server!.root, "two\nlines", "golden.vhd"));
    // The child in that existing folder: its volume asked of SFTP alone, not refused as ERROR_INVALID_NAME.
    await runVhdOk(remote(["create-differencing", url("two\nlines/child.vhd"), url("golden.vhd"), "--posix-paths"]));
    await runVhdOk(["verify", join(server!.root, "two\nlines", "child.vhd")]);
    // A parent in it: its checksum streamed over SFTP (no hash command), the same as sha256sum's.
    const sum = createHash("sha256").update(readFileSync(join(server!.root, "golden.vhd"))).digest("hex");
    expect((await runVhdOk(remote(["checksum", url("two\nlines/golden.vhd")]))).text).toContain(sum);
    await runVhdOk(remote(["create-differencing", url("off-two-lines/child.vhd"), url("two\nlines/golden.vhd"), "--posix-paths"]));
    await runVhdOk(["verify", join(server!.root, "off-two-lines", "child.vhd")]);
  });
});

describe("vhd's ssh options: --connect-timeout and an encrypted --identity", () => {
  const passphrase = "correct horse battery staple";
  /** The test key, encrypted with {@link passphrase} (ssh-keygen -p), in a file of its own. */
  const encryptedKey = (): string => {
    const file = join(temp.dir, "id_encrypted");
    if (!existsSync(file)) {
      writeFileSync(file, server!.privateKey, { mode: 0o600 });
      execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", passphrase, "-f", file]);
    }
    return file;
  };
  const withKey = (key: string, args: string[]): string[] => [...args, "--identity", key, "--host-key", server!.hostKeyFingerprint];

  it("opens an encrypted key with the passphrase in VHD_SSH_KEY_PASSPHRASE", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const run = await runVhd(withKey(encryptedKey(), ["inspect", url("golden.vhd"), "--json"]), { env: { VHD_SSH_KEY_PASSPHRASE: passphrase } });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.text)).toMatchObject({ path: url("golden.vhd"), type: "dynamic" });
  });

  it("a wrong passphrase, or none without a terminal, is ERROR_INVALID_PASSWORD naming the key file, never the passphrase", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const key = encryptedKey();
    const wrong = await runVhd(withKey(key, ["inspect", url("golden.vhd")]), { env: { VHD_SSH_KEY_PASSPHRASE: "wrong horse" } });
    expectOneLineError(wrong, "ERROR_INVALID_PASSWORD", key);
    expect(wrong.stderr).not.toContain("wrong horse");
    const missing = await runVhd(withKey(key, ["inspect", url("golden.vhd")]));
    expectOneLineError(missing, "ERROR_INVALID_PASSWORD", key);
    expect(missing.stderr).toContain("VHD_SSH_KEY_PASSPHRASE");
    expect(server!.log()).not.toContain(passphrase);
  });

  it("a key file that cannot be read, or that is no private key (or too large for one), is refused naming the file and what is wrong", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    // Root reads any file: as root the run is made as nobody, for whom the key (root's, mode 0600) is unreadable.
    const asRoot = process.getuid?.() === 0;
    const folder = mkdtempSync(join(tmpdir(), "vhd-cli-keys-"));
    try {
      chmodSync(folder, 0o755);
      const locked = join(folder, "id_locked");
      writeFileSync(locked, server!.privateKey, { mode: asRoot ? 0o600 : 0o000 });
      const unreadable = await runVhd(withKey(locked, ["inspect", url("golden.vhd")]), {
        env: { HOME: folder },
        ...(asRoot ? { user: { uid: 65534, gid: 65534 } } : {}),
      });
      expectOneLineError(unreadable, "ERROR_ACCESS_DENIED", locked);
      expect(unreadable.stderr).toContain(`identity ${JSON.stringify(locked)}: could not read the private key: permission denied`);

      const notes = join(folder, "notes.txt");
      writeFileSync(notes, "host: 192.0.2.7\nuser: backup\n");
      const notAKey = await runVhd(withKey(notes, ["inspect", url("golden.vhd")]));
      expectOneLineError(notAKey, "E_INVALIDARG", notes);
      expect(notAKey.stderr).toContain(`identity ${JSON.stringify(notes)}: the private key file cannot be used: it is not a private key`);
      expect(notAKey.stderr).not.toContain("192.0.2.7");

      // A disk image given by mistake (sparse here: 8 GiB, no blocks) is refused by its size, not read into memory.
      const image = join(folder, "golden.vhd");
      writeFileSync(image, "");
      truncateSync(image, 8 * 2 ** 30);
      const tooLarge = await runVhd(withKey(image, ["inspect", url("golden.vhd")]));
      expectOneLineError(tooLarge, "E_INVALIDARG", image);
      expect(tooLarge.stderr).toContain(`the private key file cannot be used: it holds ${8 * 2 ** 30} bytes, more than any private key`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("asks for the passphrase on a terminal without echoing it", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    // A pseudo-terminal driven by Python's pty module: answer the prompt once it shows, then collect everything the
    // terminal displayed (an echo of the answer would be in it).
    const driver = [
      "import os, pty, sys",
      "pid, fd = pty.fork()",
      "if pid == 0:",
      "    os.execv(sys.argv[1], sys.argv[1:])",
      "seen = b''",
      "while b'passphrase' not in seen:",
      "    seen += os.read(fd, 1024)",
      "os.write(fd, sys.stdin.buffer.read() + b'\\r')",
      "while True:",
      "    try:",
      "        chunk = os.read(fd, 65536)",
      "    except OSError:",
      "        break",
      "    if not chunk:",
      "        break",
      "    seen += chunk",
      "sys.stdout.buffer.write(seen)",
      "sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))",
    ].join("\n");
    const args = withKey(encryptedKey(), ["checksum", url("golden.vhd")]);
    const env = { ...process.env };
    delete env.VHD_SSH_KEY_PASSPHRASE;
    const run = await runProcess("python3", ["-c", driver, process.execPath, CLI_MAIN, ...args], { input: passphrase, env, timeout: 60000 });
    const stdout = run.stdout.toString("utf8");
    expect(run.status, `${stdout}${run.stderr.toString("utf8")}`).toBe(0);
    expect(stdout).toContain(`Enter passphrase for key '${encryptedKey()}': `);
    expect(stdout).toMatch(/[0-9a-f]{64} {2}ssh:\/\//);
    expect(stdout).not.toContain(passphrase);
  });

  it("--connect-timeout bounds each dial: a host that never answers is ERROR_TIMEOUT naming the host", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    // Listening, never accepting: the kernel completes the TCP handshake and no SSH banner ever comes.
    const silent = createServer();
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silent.on("connection", (socket) => socket.pause());
    const { port } = silent.address() as AddressInfo;
    try {
      const child = startVhd(["inspect", `ssh://${server!.user}@127.0.0.1:${port}/x.vhd`, "--connect-timeout", "0.5", "--no-host-key-checking"]);
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const status = await new Promise<number | null>((resolve) => child.once("close", resolve));
      expect(status, stderr).toBe(1);
      expect(stderr).toContain("ERROR_TIMEOUT (0x800705B4)");
      expect(stderr).toContain(`ssh://${server!.user}@127.0.0.1:${port}`);
      expect(stderr).toContain("no answer within 0.5 s");
    } finally {
      silent.close();
    }
  }, 60000);

  it("--connect-timeout that is not a positive number of seconds is E_INVALIDARG", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const run = await runVhd(remote(["inspect", url("golden.vhd"), "--connect-timeout", "soon"]));
    expectOneLineError(run, "E_INVALIDARG");
    expect(run.stderr).toContain('connectTimeout "soon"');
  });
});
