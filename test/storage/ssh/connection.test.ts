/**
 * The SSH adapter's connection against a real sshd: host-key trust, authentication, refused and lost connections,
 * one shared connection, and secrets kept out of every message.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isVhdError } from "../../../provider/errors";
import { closeAllSessions, getSession, poolStats } from "../../../provider/storage/ssh/session-pool";
import { SshStorage } from "../../../provider/storage/ssh/ssh-storage";
import { closedPort } from "../../support/sshd";
import { expectVhdError } from "../conformance";
import { connectionTo, sshFixture, useSshd } from "./ssh-fixture";

const sshd = useSshd();

/** Python: a loopback listener with a backlog of 0 that never accepts, its queue filled at once; prints its port. */
const BLACKHOLE_LISTENER = [
  "import socket, time",
  "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0); port = s.getsockname()[1]",
  "fill = [socket.socket() for _ in range(4)]",
  "[f.setblocking(False) or f.connect_ex(('127.0.0.1', port)) for f in fill]",
  "print(port, flush=True); time.sleep(600)",
].join("\n");

describe("ssh connection", () => {
  beforeEach(async (context) => {
    const reason = sshd.unavailable();
    if (reason !== undefined) return context.skip(reason);
    await closeAllSessions();
  });
  afterEach(async () => {
    await closeAllSessions();
  });

  it("accepts the server's key pinned as a key line, as a SHA256 fingerprint, or through known_hosts", async () => {
    const server = sshd.server();
    const byLine = await getSession(connectionTo(server));
    expect(byLine.hostKeyFingerprint).toBe(server.hostKeyFingerprint);
    await closeAllSessions();
    await getSession(connectionTo(server, { hostKey: server.hostKeyFingerprint }));
    await closeAllSessions();
    const { hostKey: _unused, ...unpinned } = connectionTo(server);
    await getSession({ ...unpinned, knownHostsPath: server.knownHostsPath });
  });

  it("accepts a hashed known_hosts entry (ssh-keygen -H)", async () => {
    const server = sshd.server();
    const hashed = join(server.dir, "known_hosts_hashed");
    writeFileSync(hashed, readFileSync(server.knownHostsPath));
    execFileSync("ssh-keygen", ["-q", "-H", "-f", hashed], { stdio: "ignore" });
    expect(readFileSync(hashed, "utf8")).toMatch(/^\|1\|/);
    const { hostKey: _unused, ...unpinned } = connectionTo(server);
    const session = await getSession({ ...unpinned, knownHostsPath: hashed });
    expect(session.alive).toBe(true);
  });

  it("refuses another key than the pinned one, and a known_hosts entry with another key, before authenticating", async () => {
    const server = sshd.server();
    const other = join(server.dir, "other");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
    const otherLine = readFileSync(`${other}.pub`, "utf8").trim();
    const before = server.acceptedLogins();
    const pinned = await expectVhdError(getSession(connectionTo(server, { hostKey: otherLine })), "SEC_E_WRONG_PRINCIPAL");
    expect(pinned.message).toContain(`ssh://${server.user}@127.0.0.1:${server.port}`);
    expect(pinned.message).toContain(server.hostKeyFingerprint);
    const changed = join(server.dir, "known_hosts_changed");
    writeFileSync(changed, `[127.0.0.1]:${server.port} ${otherLine.split(" ").slice(0, 2).join(" ")}\n`);
    const { hostKey: _unused, ...unpinned } = connectionTo(server);
    await expectVhdError(getSession({ ...unpinned, knownHostsPath: changed }), "SEC_E_WRONG_PRINCIPAL");
    expect(server.acceptedLogins()).toBe(before);
  });

  it("refuses a host known_hosts does not list, and a connection with no way to check the host", async () => {
    const server = sshd.server();
    const { hostKey: _unused, ...unpinned } = connectionTo(server);
    const empty = join(server.dir, "known_hosts_empty");
    writeFileSync(empty, "# nothing\n");
    await expectVhdError(getSession({ ...unpinned, knownHostsPath: empty }), "SEC_E_UNTRUSTED_ROOT");
    const none = await expectVhdError(getSession(unpinned), "E_INVALIDARG");
    expect(none.message).toMatch(/hostKeyChecking: false/);
  });

  it("connects with hostKeyChecking: false and reports the key it accepted", async () => {
    const server = sshd.server();
    const { hostKey: _unused, ...unpinned } = connectionTo(server);
    const session = await getSession({ ...unpinned, hostKeyChecking: false });
    expect(session.hostKeyFingerprint).toBe(server.hostKeyFingerprint);
  });

  it("a wrong private key is ERROR_LOGON_FAILURE naming the host, and no message holds the key", async () => {
    const server = sshd.server();
    const wrong = join(server.dir, "wrong");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", wrong]);
    const privateKey = readFileSync(wrong, "utf8");
    const error = await expectVhdError(getSession(connectionTo(server, { privateKey, password: "hunter2-secret" })), "ERROR_LOGON_FAILURE");
    const everything = JSON.stringify({ message: error.message, json: isVhdError(error) ? error.toJSON() : undefined });
    expect(everything).toContain(`ssh://${server.user}@127.0.0.1:${server.port}`);
    expect(everything).toContain("0x8007052E");
    for (const line of privateKey.split("\n").filter((text) => text.length > 8)) expect(everything).not.toContain(line);
    expect(everything).not.toContain("hunter2-secret");
  });

  it("a privateKey that is no key, or encrypted without privateKeyPassword, is refused naming its input and host, before any dial", async () => {
    const server = sshd.server();
    const host = `ssh://${server.user}@127.0.0.1:${server.port}`;
    const locked = join(server.dir, "locked");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "correct horse", "-f", locked]);
    const encrypted = readFileSync(locked, "utf8");
    // sshd logs each connection it accepts (LogLevel VERBOSE): none may come from these.
    const connectionsSeen = (): number => (server.log().match(/Connection from /g) ?? []).length;
    const before = connectionsSeen();

    const notAKey = await expectVhdError(getSession(connectionTo(server, { privateKey: "host: 192.0.2.7" })), "E_INVALIDARG");
    expect(notAKey.message).toContain(`connection.privateKey: ${host}: the private key cannot be used: it is not a private key in OpenSSH or PEM format`);
    expect(notAKey.message).not.toContain("192.0.2.7");
    const publicKey = readFileSync(`${locked}.pub`, "utf8");
    const viaProxy = await expectVhdError(getSession(connectionTo(server, { proxy: connectionTo(server, { privateKey: publicKey }) })), "E_INVALIDARG");
    expect(viaProxy.message).toContain(`connection.proxy.privateKey: ${host}: the private key cannot be used: it is a public key`);
    const noPassphrase = await expectVhdError(getSession(connectionTo(server, { privateKey: encrypted })), "ERROR_INVALID_PASSWORD");
    expect(noPassphrase.message).toContain(`connection.privateKey: ${host}: the private key is encrypted and no passphrase was given: `);
    expect(noPassphrase.message).toContain("connection.privateKeyPassword");
    for (const line of encrypted.split("\n").filter((text) => text.length > 8)) expect(noPassphrase.message).not.toContain(line);
    expect(connectionsSeen()).toBe(before);
  });

  it("a closed port is ERROR_CONNECTION_REFUSED naming the host, after dialErrorLimit attempts", async () => {
    const server = sshd.server();
    const port = await closedPort();
    const error = await expectVhdError(getSession(connectionTo(server, { port, dialErrorLimit: 2 })), "ERROR_CONNECTION_REFUSED");
    expect(error.message).toContain(`ssh://${server.user}@127.0.0.1:${port}`);
    expect(error.message).toContain("0x800704C9");
    expect(error.message).toContain("2 dial attempts");
  });

  it("a server that accepts TCP but never speaks SSH is ERROR_TIMEOUT after perDialTimeout", async () => {
    const server = sshd.server();
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const error = await expectVhdError(getSession(connectionTo(server, { port, perDialTimeout: 1, dialErrorLimit: 1 })), "ERROR_TIMEOUT");
      // The dial's own timer, set to perDialTimeout, ended it (not ssh2's or a later one): a count of seconds in the
      // message, where a wall-clock bound would fail a slow but correct run on a loaded machine.
      expect(error.message).toContain("no answer within 1 s");
      expect(error.message).toContain(`:${port}`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("a host whose TCP handshake never completes is ERROR_TIMEOUT, and the dial's socket is closed (the process can exit)", async () => {
    const server = sshd.server();
    // A listener that never accepts, its queue filled: Linux drops further SYNs, so a connect to it stays pending
    // (SYN-SENT) until the kernel gives up, minutes later. Only the dial's own timer can end it.
    const blackhole = spawn("python3", ["-c", BLACKHOLE_LISTENER], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const port = Number((await once(blackhole.stdout, "data"))[0]);
      const sockets = (): number => process.getActiveResourcesInfo().filter((kind) => kind === "TCPSocketWrap").length;
      const before = sockets();
      const error = await expectVhdError(getSession(connectionTo(server, { port, perDialTimeout: 1, dialErrorLimit: 1 })), "ERROR_TIMEOUT");
      expect(error.message).toContain(`:${port}`);
      // A socket still connecting is an active, ref'd handle that keeps `vhd` running after it printed the error.
      // One destroyed before the dial rejected is gone from the list once its close callback has run: libuv runs it
      // in the closing phase of the loop turn that closed it, which comes before the check phase of the next turn,
      // where the second of two chained setImmediate callbacks runs at the earliest (whatever the scheduling).
      for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(sockets()).toBe(before);
    } finally {
      blackhole.kill();
    }
  });

  it("a server that closes TCP before the SSH banner (sshd past MaxStartups) is a lost connection, dialled again", async () => {
    const server = sshd.server();
    let accepted = 0;
    const closing = createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => closing.listen(0, "127.0.0.1", resolve));
    const address = closing.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const error = await expectVhdError(getSession(connectionTo(server, { port, dialErrorLimit: 2 })), "ERROR_NETNAME_DELETED");
      expect(error.message).toContain(`ssh://${server.user}@127.0.0.1:${port}`);
      expect(error.message).toContain("before the SSH handshake");
      expect(error.message).toContain("2 dial attempts");
      expect(accepted).toBe(2);
    } finally {
      await new Promise((resolve) => closing.close(resolve));
    }
  });

  it("reaches the host through a bastion (proxy), one connection per hop", async () => {
    const server = sshd.server();
    const before = poolStats().connections;
    const storage = new SshStorage(connectionTo(server, { host: "localhost", proxy: connectionTo(server) }));
    const fx = sshFixture(server, storage);
    const path = fx.join("via-bastion.bin");
    const file = await storage.createExclusive(path);
    await file.write(0, new Uint8Array([1, 2, 3]));
    await file.close();
    expect(await storage.pathFacts(path)).toMatchObject({ kind: "file", size: 3 });
    expect(storage.host).toBe(`ssh://${server.user}@localhost:${server.port}`);
    expect(poolStats().connections - before).toBe(2);
    await fx.cleanup();
  });

  it("shares one connection among many storages and operations (pool counter and sshd's log agree)", async () => {
    const server = sshd.server();
    const connectionsBefore = poolStats().connections;
    const loginsBefore = server.acceptedLogins();
    const fixtures = [sshFixture(server), sshFixture(server, new SshStorage(connectionTo(server))), sshFixture(server)];
    await Promise.all(
      fixtures.flatMap((fx) =>
        [1, 2, 3, 4].map(async (n) => {
          const path = fx.join(`f${n}.bin`);
          const file = await fx.storage.createExclusive(path);
          await file.write(0, new Uint8Array(1000).fill(n));
          await file.close();
          await fx.storage.sha256(path);
          await fx.storage.fingerprint(path);
        }),
      ),
    );
    expect(poolStats().connections - connectionsBefore).toBe(1);
    expect(server.acceptedLogins() - loginsBefore).toBe(1);
    await Promise.all(fixtures.map((fx) => fx.cleanup()));
  });

  it("a connection killed mid-write is ERROR_NETNAME_DELETED naming the host; the next call reconnects", async () => {
    const server = sshd.server();
    const fx = sshFixture(server);
    const path = fx.join("interrupted.bin");
    const file = await fx.storage.createExclusive(path);
    const { connections: connectionsBefore, sftpRequests: requestsBefore } = poolStats();
    const writing = file.write(0, new Uint8Array(64 * 1024 * 1024));
    writing.catch(() => undefined);
    // Killed as soon as the write has sent its first request, checked at every turn of the event loop, not after a
    // fixed 50 ms: 64 MiB cannot be through one turn later (the channel's window lets a few MiB out before the server
    // answers), however loaded the machine.
    while (poolStats().sftpRequests === requestsBefore) await new Promise((resolve) => setImmediate(resolve));
    server.killSessions();
    const error = await expectVhdError(writing, "ERROR_NETNAME_DELETED");
    expect(error.message).toContain(`ssh://${server.user}@127.0.0.1:${server.port}`);
    await file.close();
    expect((await fx.storage.pathFacts(path)).kind).toBe("file");
    expect(poolStats().connections - connectionsBefore).toBe(1);
    await fx.storage.unlink(path);
    await fx.cleanup();
  });

  it("a fingerprint after the connection (and its fingerprint loop) was killed is a connection loss or a full answer, and the next call reconnects with a new loop", async () => {
    const server = sshd.server();
    const fx = sshFixture(server);
    const path = fx.join("fingerprinted.bin");
    writeFileSync(path, Buffer.alloc(4096));
    const strong = { dev: expect.not.stringMatching(/^sftp$/), size: 4096 };
    expect(await fx.storage.fingerprint(path)).toMatchObject(strong);
    const { connections: connectionsBefore, execs: execsBefore } = poolStats();
    server.killSessions();
    // Whether the client has seen the close yet is the scheduler's: either way no wrong answer and no raw ssh2 error.
    const raced = await fx.storage.fingerprint(path).catch((error: unknown) => error);
    if (isVhdError(raced)) expect(raced.code).toBe("ERROR_NETNAME_DELETED");
    else expect(raced).toMatchObject(strong);
    expect(await fx.storage.fingerprint(path)).toMatchObject(strong);
    expect(poolStats().connections - connectionsBefore).toBe(1);
    // On the new connection: the probe and the loop.
    expect(poolStats().execs - execsBefore).toBe(2);
    await fx.cleanup();
  });

  it("an idle pooled connection does not keep the process alive, nor does its fingerprint loop", async () => {
    const server = sshd.server();
    // Once the listing is done, what still holds the event loop (Node.js leaves unref'd handles out of the list):
    // the stdout pipe at most, no socket and no timer of the pool's. A fingerprint first leaves the connection's
    // fingerprint loop (stat-shell.ts) open and idle.
    const script = [
      `const { SshStorage } = require(${JSON.stringify(join(__dirname, "../../../provider/storage/ssh/ssh-storage"))});`,
      `const storage = new SshStorage(${JSON.stringify(connectionTo(server))});`,
      `storage.fingerprint(${JSON.stringify(server.root)}).then(() => storage.list(${JSON.stringify(server.root)})).then((names) => {`,
      `  console.log("listed", names.length);`,
      `  setImmediate(() => console.log(JSON.stringify(process.getActiveResourcesInfo())));`,
      `});`,
    ].join("\n");
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "-e", script],
        // A hang guard: a process kept alive is killed and fails the test here.
        { timeout: 30000, cwd: join(__dirname, "../../..") },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    const [listed, resources] = output.trim().split("\n");
    expect(listed).toMatch(/^listed \d+$/);
    // The process ended by itself (no close call), and nothing of the pool's held it, not even for a while: a count of
    // what was alive, where a wall-clock bound would fail a slow but correct run on a loaded machine.
    expect((JSON.parse(resources ?? "null") as string[]).filter((resource) => resource !== "PipeWrap")).toEqual([]);
  }, 60000);
});
