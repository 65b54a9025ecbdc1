/**
 * A real OpenSSH server for tests: Debian's `/usr/sbin/sshd` on a free loopback port, run as the current user with
 * its own generated host key, one authorized client key and a temporary folder for disks. Configuration follows
 * docs/remote-hosts.md §5 (UsePAM no so a non-root user can run it, StrictModes no for keys in /tmp, keys only).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

const SSHD = "/usr/sbin/sshd";
const SSH_KEYGEN = "/usr/bin/ssh-keygen";

/** A running test server. */
export interface TestSshd {
  host: string;
  port: number;
  user: string;
  /** The authorized client key (OpenSSH private-key text). */
  privateKey: string;
  /** The server's host public-key line (`ssh-ed25519 AAAA... comment`). */
  hostKey: string;
  /** The server's `SHA256:` fingerprint, as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  /** A known_hosts file holding the server's key under `[127.0.0.1]:port`. */
  knownHostsPath: string;
  /** A folder for test files, on the same machine (the tests may look at it with node:fs). */
  root: string;
  /** The temporary folder holding keys, config and root. */
  dir: string;
  /** sshd's log so far (`-E` file, LogLevel VERBOSE). */
  log(): string;
  /** How many sessions authenticated so far, from the log. */
  acceptedLogins(): number;
  /** SIGKILLs the per-connection sshd processes (the listener keeps running): a connection lost mid-operation. */
  killSessions(): void;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** Why sshd cannot run here, or undefined when it can. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is not installed (Debian package openssh-server; scripts/test-oracles.sh installs it)`;
  if (!existsSync(SSH_KEYGEN)) return `${SSH_KEYGEN} is not installed (Debian package openssh-client)`;
  // sshd refuses to start without its privilege-separation folder (docs/remote-hosts.md §5).
  if (!existsSync("/run/sshd")) {
    try {
      mkdirSync("/run/sshd", { mode: 0o755 });
    } catch {
      return "/run/sshd is missing and cannot be created (sshd needs it; create it as root)";
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** A port on loopback where nothing listens (for "connection refused"). */
export const closedPort = freePort;

function keygen(file: string): void {
  execFileSync(SSH_KEYGEN, ["-q", "-t", "ed25519", "-N", "", "-C", "pulumi-vhd-test", "-f", file]);
}

/**
 * Waits until this sshd says it listens on `port` (its own log line, so a connection that another process's
 * listener answers is never taken for it): true. False when it exited because the port was taken between
 * {@link freePort} and its bind, by a test server of another vitest worker, say. No deadline: the hook's timeout
 * guards a hang, and a slow start on a loaded machine is no fault.
 */
async function listening(port: number, child: ChildProcess, log: () => string): Promise<boolean> {
  const exited = new Promise<void>((resolve) => (child.exitCode === null ? child.once("exit", () => resolve()) : resolve()));
  for (;;) {
    if (log().includes(`Server listening on 127.0.0.1 port ${port}.`)) return true;
    if (child.exitCode !== null) {
      if (/Address already in use/.test(log())) return false;
      throw new Error(`sshd exited with ${child.exitCode}:\n${log()}`);
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 50))]);
  }
}

/** The sshd version as [major, minor], from `sshd -V` (OpenSSH_9.2...). */
function sshdVersion(): [number, number] {
  const result = spawnSyncText(SSHD, ["-V"]);
  const match = /OpenSSH_(\d+)\.(\d+)/.exec(result);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

function spawnSyncText(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: Buffer; stdout?: Buffer };
    return `${stdout?.toString() ?? ""}${stderr?.toString() ?? ""}`;
  }
}

/** Options of {@link startSshd}. */
export interface SshdOptions {
  /** More sshd_config lines, e.g. `ForceCommand internal-sftp` for an SFTP-only account. */
  extraConfig?: string[];
  /** Arguments of the SFTP server (sftp-server(8)), e.g. `-P hardlink` to refuse hardlink@openssh.com (names: `sftp-server -Q requests`). */
  sftpArgs?: string[];
}

/** Starts a server; call {@link sshdUnavailable} first and skip with its reason. */
export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), "vhd-sshd-"));
  const root = join(dir, "disks");
  mkdirSync(root);
  keygen(join(dir, "hostkey"));
  keygen(join(dir, "client"));
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client.pub")));
  const [major, minor] = sshdVersion();
  const configLines = (port: number): string[] => [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "hostkey")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    "UsePAM no",
    "StrictModes no",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    ["Subsystem sftp internal-sftp", ...(options.sftpArgs ?? [])].join(" "),
    "LogLevel VERBOSE",
    // OpenSSH 9.8+ penalises a source after failed logins; negative tests must not lock out the next ones.
    ...(major > 9 || (major === 9 && minor >= 8) ? ["PerSourcePenalties no"] : []),
    ...(options.extraConfig ?? []),
  ];
  // A log file, not a pipe: a test blocked in spawnSync reads no pipe, and sshd would stall once its buffer filled.
  const logFile = join(dir, "sshd.log");
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  // The free port is free only when asked; another process may bind it before sshd does. That is the machine's
  // doing, not the code under test's, so sshd gets another port then (a few times at most, each a fresh log).
  let started: { port: number; child: ChildProcess } | undefined;
  for (let attempt = 1; started === undefined; attempt++) {
    const port = await freePort();
    writeFileSync(join(dir, "sshd_config"), `${configLines(port).join("\n")}\n`);
    rmSync(logFile, { force: true });
    const child = spawn(SSHD, ["-D", "-E", logFile, "-f", join(dir, "sshd_config")], { stdio: "ignore" });
    if (await listening(port, child, log)) started = { port, child };
    else if (attempt === 5) throw new Error(`sshd found each of 5 free ports taken before it could bind:\n${log()}`);
  }
  const { port, child } = started;
  const hostKey = readFileSync(join(dir, "hostkey.pub"), "utf8").trim();
  const [keyType, keyData] = hostKey.split(" ");
  const knownHostsPath = join(dir, "known_hosts");
  writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${keyType} ${keyData}\n`);
  const fingerprint = /(SHA256:\S+)/.exec(execFileSync(SSH_KEYGEN, ["-lf", join(dir, "hostkey.pub")]).toString())?.[1] ?? "";
  const childrenOf = (pid: number): number[] =>
    readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .filter((entry) => {
        try {
          // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after the last ')'.
          const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
          return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
        } catch {
          return false;
        }
      })
      .map(Number);
  const descendants = (pid: number): number[] => childrenOf(pid).flatMap((child) => [child, ...descendants(child)]);
  const killSessions = (): void => {
    for (const pid of descendants(child.pid ?? -1)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  };
  return {
    host: "127.0.0.1",
    port,
    user: userInfo().username,
    privateKey: readFileSync(join(dir, "client"), "utf8"),
    hostKey,
    hostKeyFingerprint: fingerprint,
    knownHostsPath,
    root,
    dir,
    log,
    acceptedLogins: () => (log().match(/Accepted publickey for/g) ?? []).length,
    killSessions,
    stop: async () => {
      killSessions();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
