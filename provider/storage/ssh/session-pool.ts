/**
 * One SSH connection and one SFTP session per remote host per process, shared by every resource and command that
 * touches the host (sshd's MaxSessions and MaxStartups punish many connections; a handshake costs a round trip and a
 * key exchange). A session that drops is forgotten, and the next call dials again.
 *
 * The pool never keeps a process alive: the socket is unref'd while no operation is in flight, and liveness is
 * checked by this module's own unref'd timer (an SFTP request every few seconds while work is in flight) rather than
 * ssh2's keepalive interval, which is an ordinary (ref'd) timer. Sockets are destroyed on process exit.
 *
 * Sources: ssh2 README (Client events, connect() options, forwardOut, exec); OpenSSH sshd_config(5) (MaxSessions 10).
 */
import { createHash } from "node:crypto";
import { connect as connectTcp, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { AuthenticationType, Client, ClientChannel, SFTPWrapper } from "ssh2";
import { VhdError } from "../../errors";
import { CONNECTION_DEFAULTS, SECRET_CONNECTION_FIELDS, type ConnectionArgs, type ProxyConnectionArgs } from "./connection-args";
import { hostKeyPolicy, sha256Fingerprint, verifyHostKey } from "./host-key";
import { checkKeyPassphrase, isEncryptedKey } from "./private-key";
import { countedSftp, type SftpCounts } from "./sftp-counter";
import { formatSshHost } from "./ssh-url";
import { vhdErrorFromSsh } from "./ssh-errors";

/** Exec channels open at once on one connection: sshd allows 10 sessions per connection, one is the SFTP session. */
const MAX_EXEC_CHANNELS = 4;
/** While work is in flight, an SFTP request is sent this often (ms) to notice a stalled or vanished host. */
const LIVENESS_INTERVAL_MS = 5000;
/**
 * How long (ms) the host may leave a request unanswered: a liveness request unanswered this long declares the
 * connection dead (so does any SFTP request, which the one sftp-server answers in order, ahead of the liveness
 * request), and a question to a stat loop unanswered this long ends that loop (stat-shell.ts).
 */
const ANSWER_TIMEOUT_MS = 15000;
/** Longest pause (ms) between dial attempts; the first retry waits 100 ms, then doubling. */
const MAX_DIAL_BACKOFF_MS = 2000;

/** What a remote command printed and how it ended. */
export interface ExecResult {
  stdout: Buffer;
  stderr: string;
  /** The exit status, or null when the command died of a signal. */
  exitCode: number | null;
}

/** Counters for tests and diagnostics. */
export interface PoolStats {
  /** SSH connections established (handshake and authentication done) since the process started. */
  connections: number;
  /** Sessions currently in the pool. */
  live: number;
  /**
   * Exec channels opened since the process started (one remote command each, and the costly part of one: sshd
   * sets up a session and starts the user's login shell for it). Tests bound the count per operation.
   */
  execs: number;
  /** SFTP requests sent since the process started, liveness checks left out (sftp-counter.ts). */
  sftpRequests: number;
  /**
   * SFTP round trips waited for one after another: requests sent while none of their session's was in flight.
   * Tests bound them per operation, next to the commands.
   */
  sftpRounds: number;
}

const stats = { connections: 0, execs: 0 };
const sftpCounts: SftpCounts = { requests: 0, rounds: 0 };

/**
 * A live, authenticated connection and its SFTP session, which opens side by side with the first commands: a command
 * needs no SFTP, and on a fresh connection opening the SFTP channel takes a round trip or two of its own.
 */
export class SshSession {
  /** `ssh://user@host:port`. */
  readonly hostLabel: string;
  /** The server's host key fingerprint (`SHA256:...`), as verified (or accepted, with checking off). */
  readonly hostKeyFingerprint: string;
  /** Secret values to strip from messages. */
  readonly secrets: readonly string[];
  /** How long (ms) the host may leave a request unanswered ({@link ANSWER_TIMEOUT_MS}). */
  readonly answerTimeoutMs = ANSWER_TIMEOUT_MS;
  private inFlight = 0;
  private execSlots = MAX_EXEC_CHANNELS;
  private readonly execQueue: Array<() => void> = [];
  private livenessTimer: NodeJS.Timeout | undefined;
  private lastAnswer = Date.now();
  private closed = false;
  private closeReason: unknown;
  private readonly closeListeners: Array<(reason: unknown) => void> = [];
  /** The SFTP session itself once open: the liveness check's, which the counts leave out. */
  private rawSftp: SFTPWrapper | undefined;
  private countedSftpSession: SFTPWrapper | undefined;
  /** Settles when the SFTP session is open, or rejects with why it could not be opened (the connection is then closed). */
  readonly sftpOpen: Promise<void>;

  constructor(
    private readonly client: Client,
    /** The SFTP session being opened (ssh2's SFTPWrapper). */
    sftp: Promise<SFTPWrapper>,
    private readonly socket: Socket | undefined,
    private readonly via: SshSession | undefined,
    init: { hostLabel: string; hostKeyFingerprint: string; secrets: readonly string[] },
  ) {
    this.hostLabel = init.hostLabel;
    this.hostKeyFingerprint = init.hostKeyFingerprint;
    this.secrets = init.secrets;
    const onGone = (reason: unknown): void => this.markClosed(reason);
    client.on("close", () => onGone(new Error("the SSH connection closed")));
    client.on("error", onGone);
    this.sftpOpen = sftp.then(
      (raw) => {
        this.rawSftp = raw;
        this.countedSftpSession = countedSftp(raw, sftpCounts);
        raw.on("close", () => onGone(new Error("the SFTP session closed")));
      },
      (error: unknown) => {
        this.destroy(error);
        throw error;
      },
    );
    // Callers learn of a failed open through getSession; this copy of the rejection is nobody's.
    this.sftpOpen.catch(() => undefined);
    this.socket?.unref();
  }

  /**
   * The SFTP session (ssh2's SFTPWrapper), its requests counted ({@link poolStats}). Open once {@link sftpOpen}
   * settled, as it has for every session {@link getSession} returns without `sftp: false`.
   */
  get sftp(): SFTPWrapper {
    if (this.countedSftpSession === undefined) throw new Error(`${this.hostLabel}: the SFTP session is not open yet`);
    return this.countedSftpSession;
  }

  /** False once the connection has dropped or been closed. */
  get alive(): boolean {
    return !this.closed;
  }

  /** Calls `listener` once when the connection drops (at once if it already has); returns the unsubscribe call. */
  onClose(listener: (reason: unknown) => void): () => void {
    if (this.closed) {
      listener(this.closeReason);
      return () => undefined;
    }
    this.closeListeners.push(listener);
    return () => {
      const index = this.closeListeners.indexOf(listener);
      if (index >= 0) this.closeListeners.splice(index, 1);
    };
  }

  /**
   * Runs `work` as one in-flight operation: the connection keeps the process alive and is watched for liveness
   * until it settles. Rejects at once if the connection drops meanwhile (ssh2 leaves some callbacks, such as a
   * close on a dead channel, uncalled).
   */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.begin();
    let unsubscribe = (): void => undefined;
    try {
      return await new Promise<T>((resolve, reject) => {
        unsubscribe = this.onClose((reason) => reject(reason ?? new Error("the SSH connection closed")));
        work().then(resolve, reject);
      });
    } finally {
      unsubscribe();
      this.end();
    }
  }

  /**
   * Runs `command` through the user's login shell (sshd runs `$SHELL -c command`; OpenSSH session.c), at most
   * {@link MAX_EXEC_CHANNELS} at once. `signal` closes the channel. Never rejects for a non-zero exit status.
   */
  async exec(command: string, signal?: AbortSignal): Promise<ExecResult> {
    await this.acquireExecSlot();
    try {
      return await this.track(
        () =>
          new Promise<ExecResult>((resolve, reject) => {
            stats.execs++;
            this.client.exec(command, (error: Error | undefined, channel: ClientChannel) => {
              if (error) return reject(error);
              const stdout: Buffer[] = [];
              const stderr: Buffer[] = [];
              let exitCode: number | null = null;
              const abort = (): void => {
                channel.close();
              };
              signal?.addEventListener("abort", abort, { once: true });
              // No command here reads input; EOF at once also ends a ForceCommand (internal-sftp) that would wait.
              channel.end();
              channel.on("data", (chunk: Buffer) => stdout.push(chunk));
              channel.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
              channel.on("exit", (code: number | null) => {
                exitCode = typeof code === "number" ? code : null;
              });
              channel.on("close", () => {
                signal?.removeEventListener("abort", abort);
                resolve({ stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8"), exitCode });
              });
            });
          }),
      );
    } finally {
      this.releaseExecSlot();
    }
  }

  /**
   * An exec channel that stays open for the caller to talk to (stat-shell.ts), counted in `execs` and outside the
   * {@link MAX_EXEC_CHANNELS} slots, so it never holds one of them idle: with the SFTP session, one of these and
   * every slot busy, the connection uses 6 of sshd's 10 sessions. The caller closes it; it dies with the connection.
   */
  async openChannel(command: string): Promise<ClientChannel> {
    return this.track(
      () =>
        new Promise<ClientChannel>((resolve, reject) => {
          stats.execs++;
          this.client.exec(command, (error: Error | undefined, channel: ClientChannel) => (error ? reject(error) : resolve(channel)));
        }),
    );
  }

  /** A `direct-tcpip` channel to `host:port` from the server (a bastion hop, as `ssh -J` opens). */
  async openTunnel(host: string, port: number): Promise<ClientChannel> {
    return this.track(
      () =>
        new Promise<ClientChannel>((resolve, reject) => {
          this.client.forwardOut("127.0.0.1", 0, host, port, (error: Error | undefined, channel: ClientChannel) =>
            // The bastion refusing the hop is, to the user, the target refusing the connection.
            error ? reject(Object.assign(error, { code: "ECONNREFUSED" })) : resolve(channel),
          );
        }),
    );
  }

  /** Ends the connection politely (SSH disconnect); pending operations reject. */
  close(): void {
    if (this.closed) return;
    this.client.end();
    this.markClosed(new Error("the SSH connection was closed by the provider"));
  }

  /** Drops the connection at once (process exit, a stalled host). */
  destroy(reason: unknown): void {
    this.client.destroy();
    this.markClosed(reason);
  }

  private markClosed(reason: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.stopLiveness();
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }

  private begin(): void {
    if (this.inFlight++ === 0) {
      this.socket?.ref();
      this.lastAnswer = Date.now();
      this.livenessTimer = setInterval(() => this.checkLiveness(), LIVENESS_INTERVAL_MS);
      this.livenessTimer.unref();
    }
    this.via?.begin();
  }

  private end(): void {
    this.via?.end();
    if (--this.inFlight === 0) {
      this.stopLiveness();
      this.socket?.unref();
    }
  }

  private stopLiveness(): void {
    if (this.livenessTimer !== undefined) clearInterval(this.livenessTimer);
    this.livenessTimer = undefined;
  }

  private checkLiveness(): void {
    if (Date.now() - this.lastAnswer > this.answerTimeoutMs) {
      const error = Object.assign(new Error("Keepalive timeout"), { level: "client-timeout" });
      this.destroy(error);
      return;
    }
    // Until the SFTP session is open the dial's own timeout watches the connection.
    if (this.rawSftp === undefined) {
      this.lastAnswer = Date.now();
      return;
    }
    // Any answer, even an error status, proves the server and the path to it are alive.
    this.rawSftp.realpath(".", () => {
      this.lastAnswer = Date.now();
    });
  }

  private async acquireExecSlot(): Promise<void> {
    if (this.execSlots > 0) {
      this.execSlots--;
      return;
    }
    await new Promise<void>((resolve) => this.execQueue.push(resolve));
  }

  private releaseExecSlot(): void {
    const next = this.execQueue.shift();
    if (next) next();
    else this.execSlots++;
  }
}

/** The user, host and port a connection goes to, with the defaults of `@pulumi/command` filled in. */
export function connectionTarget(args: ProxyConnectionArgs): { user: string; host: string; port: number; hostLabel: string } {
  const user = args.user ?? CONNECTION_DEFAULTS.user;
  const port = args.port ?? CONNECTION_DEFAULTS.port;
  return { user, host: args.host, port, hostLabel: formatSshHost(user, args.host, port) };
}

/** The secret values of a connection and its proxy, for redaction. */
function secretsOf(args: ConnectionArgs): string[] {
  const hops: ProxyConnectionArgs[] = args.proxy ? [args, args.proxy] : [args];
  return hops
    .flatMap((hop) => SECRET_CONNECTION_FIELDS.map((field) => hop[field]))
    .filter((value): value is string => typeof value === "string" && value.length > 0);
}

/**
 * The pool key: who connects where, through which bastion, and a digest of the credentials and trust settings, so a
 * resource with other (perhaps wrong) credentials never borrows a connection another one authenticated. The digest
 * is one-way and stays in memory.
 */
function poolKey(args: ConnectionArgs): string {
  const target = (hop: ProxyConnectionArgs): string => connectionTarget(hop).hostLabel;
  const digest = createHash("sha256")
    .update(
      JSON.stringify([
        args.password,
        args.privateKey,
        args.privateKeyPassword,
        args.agentSocketPath,
        args.hostKey,
        args.knownHostsPath,
        args.hostKeyChecking,
      ]),
    )
    .digest("hex");
  return `${target(args)}${args.proxy ? ` via ${poolKey(args.proxy)}` : ""} #${digest}`;
}

const pool = new Map<string, Promise<SshSession>>();
/** The sessions not yet closed, reachable synchronously (an 'exit' listener cannot await the pool's promises). */
const liveSessions = new Set<SshSession>();
let exitHookInstalled = false;

/** Counters for tests and diagnostics. */
export function poolStats(): PoolStats {
  return { connections: stats.connections, live: pool.size, execs: stats.execs, sftpRequests: sftpCounts.requests, sftpRounds: sftpCounts.rounds };
}

/** Options of {@link getSession}. */
export interface SessionOptions {
  /**
   * False to take the session as soon as it is authenticated, for a command (exec channels need no SFTP), while its
   * SFTP session may still be opening. Default true: the SFTP session is open.
   */
  sftp?: boolean;
}

/**
 * The shared session for `args`, dialling (once, even for concurrent callers) when there is none or it dropped.
 * A dial is retried when the network fails it; opening the SFTP session, on a connection already authenticated, is
 * not (its failures are the server's configuration: no sftp subsystem, too many sessions), nor is its timeout.
 * @throws `E_INVALIDARG` when the host key cannot be checked (see host-key.ts) or a key is unusable;
 * `ERROR_CONNECTION_REFUSED`, `ERROR_HOST_UNREACHABLE`, `ERROR_TIMEOUT` after `dialErrorLimit` failed dials;
 * `ERROR_LOGON_FAILURE`; `SEC_E_WRONG_PRINCIPAL` / `SEC_E_UNTRUSTED_ROOT` for a host key that is not trusted.
 * Every message names `ssh://user@host:port`.
 */
export async function getSession(args: ConnectionArgs, options: SessionOptions = {}): Promise<SshSession> {
  const session = await authenticatedSession(args);
  if (options.sftp === false) return session;
  try {
    // Tracked: a connection that drops meanwhile rejects at once (ssh2 may never answer the channel's open then).
    await session.track(() => session.sftpOpen);
  } catch (error) {
    throw vhdErrorFromSsh(error, { hostLabel: session.hostLabel, action: "connect", secrets: session.secrets });
  }
  return session;
}

async function authenticatedSession(args: ConnectionArgs): Promise<SshSession> {
  const key = poolKey(args);
  const existing = pool.get(key);
  if (existing !== undefined) {
    const session = await existing.catch(() => undefined);
    if (session?.alive) return session;
    if (pool.get(key) === existing) pool.delete(key);
    const raced = pool.get(key);
    if (raced !== undefined) return raced;
  }
  const dialled = dialWithRetries(args);
  pool.set(key, dialled);
  installExitHook();
  try {
    const session = await dialled;
    liveSessions.add(session);
    session.onClose(() => {
      liveSessions.delete(session);
      if (pool.get(key) === dialled) pool.delete(key);
    });
    return session;
  } catch (error) {
    if (pool.get(key) === dialled) pool.delete(key);
    throw error;
  }
}

/** Closes every pooled connection (a CLI's last step; tests between cases). */
export async function closeAllSessions(): Promise<void> {
  const sessions = await Promise.all([...pool.values()].map((entry) => entry.catch(() => undefined)));
  pool.clear();
  for (const session of sessions) session?.close();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' listeners must be synchronous: destroy the sockets rather than wait for a polite disconnect.
  process.once("exit", () => {
    for (const session of liveSessions) session.destroy(new Error("the process exited"));
  });
}

/** Dial failures worth another attempt: the network, not the credentials or the host's identity. */
function retryable(error: unknown): boolean {
  const mapped = error instanceof VhdError ? error.code : undefined;
  return (
    mapped === "ERROR_CONNECTION_REFUSED" ||
    mapped === "ERROR_HOST_UNREACHABLE" ||
    mapped === "ERROR_TIMEOUT" ||
    mapped === "ERROR_NETNAME_DELETED"
  );
}

/**
 * The keys of a connection and of its bastion, checked before anything is dialled, so that one that cannot be used is
 * refused naming its input (`connection.privateKey`, `connection.proxy.privateKey`) and host, not as a failed dial.
 * A wrong passphrase is left to the dial, which reads the key anyway: checking it here would run the key's KDF twice.
 * @throws `E_INVALIDARG` for text that is no private key; `ERROR_INVALID_PASSWORD` for an encrypted key without its
 *   `privateKeyPassword`.
 */
function checkConnectionKeys(args: ConnectionArgs): void {
  const hops: Array<[ProxyConnectionArgs | undefined, string]> = [
    [args, "connection"],
    [args.proxy, "connection.proxy"],
  ];
  for (const [hop, input] of hops) {
    if (hop?.privateKey === undefined) continue;
    const source = { parameter: `${input}.privateKey`, host: connectionTarget(hop).hostLabel };
    if (isEncryptedKey(hop.privateKey, source) && hop.privateKeyPassword === undefined) {
      checkKeyPassphrase(hop.privateKey, undefined, { ...source, howToGive: `give its passphrase as ${input}.privateKeyPassword` });
    }
  }
}

async function dialWithRetries(args: ConnectionArgs): Promise<SshSession> {
  checkConnectionKeys(args);
  const { hostLabel } = connectionTarget(args);
  const policy = hostKeyPolicy(args, hostLabel);
  const limit = args.dialErrorLimit ?? CONNECTION_DEFAULTS.dialErrorLimit;
  const via = args.proxy === undefined ? undefined : await getSession(args.proxy);
  for (let attempt = 1; ; attempt++) {
    try {
      return await dialOnce(args, policy, via);
    } catch (error) {
      const mapped = vhdErrorFromSsh(error, { hostLabel, action: "connect", secrets: secretsOf(args) });
      if (!retryable(mapped) || (limit >= 0 && attempt >= Math.max(limit, 1))) {
        if (attempt === 1) throw mapped;
        throw new VhdError(mapped.code, `${mapped.reason}; gave up after ${attempt} dial attempts`, {
          details: { ...mapped.details, attempts: attempt },
          cause: mapped,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_DIAL_BACKOFF_MS, 100 * 2 ** (attempt - 1))));
    }
  }
}

/** Rejects with a timeout error (ssh2's `client-timeout` level) after `ms`, unless cleared. */
function timeoutAfter(ms: number, onTimeout: () => void): { promise: Promise<never>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    if (ms <= 0) return;
    timer = setTimeout(() => {
      onTimeout();
      reject(Object.assign(new Error(`no answer within ${ms / 1000} s`), { level: "client-timeout" }));
    }, ms);
  });
  return { promise, clear: () => clearTimeout(timer) };
}

/** A transport being opened: what it gives once open, and how to close it whether or not it is open yet. */
interface OpeningTransport {
  opened: Promise<{ stream: Duplex; socket?: Socket }>;
  close: () => void;
}

/**
 * A TCP socket to the host, or a `direct-tcpip` channel through the bastion. `close` must reach a socket still in its
 * TCP handshake: one to a host that drops the SYN stays pending until the kernel gives up, minutes later, and a
 * pending socket keeps the process running (`vhd` would print its timeout and not exit).
 */
function openTransport(host: string, port: number, via: SshSession | undefined): OpeningTransport {
  if (via !== undefined) {
    const tunnel = via.openTunnel(host, port);
    return {
      opened: tunnel.then((stream) => ({ stream })),
      close: () => void tunnel.then((stream) => stream.destroy(), () => undefined),
    };
  }
  const socket = connectTcp({ host, port });
  const opened = new Promise<{ stream: Duplex; socket: Socket }>((resolve, reject) => {
    socket.once("connect", () => {
      // Nagle's algorithm off (TCP_NODELAY): with it on, a request ssh2 hands the socket in more than one write sends
      // its later piece only once the server's delayed ACK of the first arrives, about 40 ms on Linux. Measured against
      // OpenSSH on loopback: each SFTP round trip waited for took 44-48 ms with Nagle on, 1-5 ms with it off.
      socket.setNoDelay(true);
      resolve({ stream: socket, socket });
    });
    socket.once("error", reject);
  });
  // Whoever waits for it sees a refusal; a dial that failed before it waited (ssh2 would not load) must not crash on it.
  opened.catch(() => undefined);
  return { opened, close: () => socket.destroy() };
}

/**
 * The authentication methods to try, in ssh2's own order (its `authHandler` default) but for `none`, which goes last
 * instead of first: OpenSSH clients, and ssh2 by default, open with a `none` request to learn the methods the server
 * takes, a round trip to the server's privileged monitor that no server configured for keys or passwords accepts.
 * `none` stays as the last resort for a server that takes it (or when nothing else is given).
 */
function authMethods(given: { password: boolean; publickey: boolean; agent: boolean }): AuthenticationType[] {
  return [
    ...(given.password ? (["password"] as const) : []),
    ...(given.publickey ? (["publickey"] as const) : []),
    ...(given.agent ? (["agent"] as const) : []),
    ...(given.password ? (["keyboard-interactive"] as const) : []),
    "none",
  ];
}

async function dialOnce(args: ConnectionArgs, policy: ReturnType<typeof hostKeyPolicy>, via: SshSession | undefined): Promise<SshSession> {
  const { user, host, port, hostLabel } = connectionTarget(args);
  const perDialMs = (args.perDialTimeout ?? CONNECTION_DEFAULTS.perDialTimeout) * 1000;
  let stopClient = (): void => undefined;
  // The connection is asked for before ssh2 is loaded: loading it (30-odd modules, 40-60 ms of CPU, longer on a busy
  // machine) then overlaps the TCP handshake and sshd's start of a process for the connection, which would otherwise
  // wait for it. What the server sends meanwhile waits in the socket until the client reads it.
  const transport = openTransport(host, port, via);
  const timeout = timeoutAfter(perDialMs, () => {
    transport.close();
    stopClient();
  });
  let client: Client;
  try {
    // Loaded on the first dial, not with this module: a run on local disks never uses ssh2, and the provider plugin
    // and every `vhd` command load this module.
    const { Client: SshClient } = require("ssh2") as typeof import("ssh2");
    client = new SshClient();
  } catch (error) {
    timeout.clear();
    transport.close();
    throw error;
  }
  stopClient = () => client.destroy();
  // ssh2 may emit more than one 'error' (a destroyed socket after a failed handshake); callers learn of failures
  // through the ready promise below or SshSession's close, and an 'error' event without a listener would crash.
  client.on("error", () => undefined);
  let hostKeyError: unknown;
  let fingerprint = "";
  let opened: { stream: Duplex; socket?: Socket };
  try {
    opened = await Promise.race([transport.opened, timeout.promise]);
    const ready = new Promise<void>((resolve, reject) => {
      client.once("ready", resolve);
      client.once("error", (error: Error) => reject(hostKeyError ?? error));
      client.once("close", () => reject(hostKeyError ?? Object.assign(new Error("the host closed the connection"), { code: "ECONNRESET" })));
    });
    if (args.password !== undefined) {
      client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) =>
        finish(prompts.map(() => args.password ?? "")),
      );
    }
    const agent = args.agentSocketPath ?? process.env.SSH_AUTH_SOCK;
    const useAgent = agent !== undefined && agent !== "";
    client.connect({
      authHandler: authMethods({ password: args.password !== undefined, publickey: args.privateKey !== undefined, agent: useAgent }),
      sock: opened.stream,
      username: user,
      ...(args.password === undefined ? {} : { password: args.password, tryKeyboard: true }),
      ...(args.privateKey === undefined ? {} : { privateKey: args.privateKey }),
      ...(args.privateKeyPassword === undefined ? {} : { passphrase: args.privateKeyPassword }),
      ...(useAgent ? { agent } : {}),
      readyTimeout: perDialMs > 0 ? perDialMs : 2 ** 31 - 1,
      // Liveness is this module's own unref'd check (see the file comment); ssh2's interval would hold the process.
      keepaliveInterval: 0,
      hostVerifier: (key: Buffer): boolean => {
        fingerprint = sha256Fingerprint(key);
        try {
          verifyHostKey(policy, key, host, port, hostLabel);
          return true;
        } catch (error) {
          hostKeyError = error;
          return false;
        }
      },
    });
    await Promise.race([ready, timeout.promise]);
  } catch (error) {
    timeout.clear();
    client.destroy();
    transport.close();
    throw error;
  }
  stats.connections++;
  // Asked for now, not awaited: the first commands go out while the SFTP channel opens. The dial's timeout covers
  // the open; a failed open closes the session (SshSession), and its socket with it.
  const sftp = Promise.race([
    new Promise<SFTPWrapper>((resolve, reject) => client.sftp((error, session) => (error ? reject(error) : resolve(session)))),
    timeout.promise,
  ]);
  sftp.then(timeout.clear, timeout.clear);
  return new SshSession(client, sftp, opened.socket, via, {
    hostLabel,
    hostKeyFingerprint: fingerprint,
    secrets: secretsOf(args),
  });
}
