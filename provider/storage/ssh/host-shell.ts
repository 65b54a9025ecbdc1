/**
 * One long-lived POSIX shell per SSH connection for the adapter's helper commands (`stat`, `stat -f`, `test -w`,
 * `openssl dgst`). Each exec channel costs sshd a session set-up and a login shell (0.3-0.45 s per command measured on
 * the bench machine, docs/remote-hosts.md); a command written to a shell that is already running costs a round trip
 * and a fork.
 *
 * The channel runs the tool probe and then `exec sh`, which reads commands from the channel's stdin. Each command is
 * written as `{ command\n} </dev/null` (so it never reads the script that follows) and followed by an end marker
 * unique to it on stdout (with `$?`) and on stderr; its output is what came before the markers. One command runs at
 * a time. A shell that ends (an abort closes it, a command kills it) is not reused; the storage opens another.
 *
 * A host whose login shell is not POSIX (cmd.exe, a ForceCommand such as internal-sftp) never answers the first
 * marker and closes the channel (internal-sftp reads the first line as an oversized packet and exits): it gets no
 * tools, as before.
 */
import { randomBytes } from "node:crypto";
import type { ClientChannel } from "ssh2";
import { PROBE_COMMAND, parseProbe, type HostTools } from "./remote-shell";
import type { ExecResult, SshSession } from "./session-pool";

/** The channel's command line: the probe, then a shell reading commands from stdin. */
const SHELL_COMMAND = `${PROBE_COMMAND}; exec sh`;

/** The command running now, with what it printed so far. */
interface Running {
  marker: string;
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | null | undefined;
  stderrDone: boolean;
  settle: (outcome: { result: ExecResult } | { error: unknown }) => void;
}

/** A shell on the host, with the tools its probe found. */
export class HostShell {
  private probed: HostTools = parseProbe("");
  private running: Running | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private longQueued = 0;
  private ended = false;
  private readonly prefix = randomBytes(8).toString("hex");
  private serial = 0;

  private constructor(
    private readonly session: SshSession,
    private readonly channel: ClientChannel,
  ) {
    channel.on("data", (chunk: Buffer) => this.onOutput(chunk, "stdout"));
    channel.stderr.on("data", (chunk: Buffer) => this.onOutput(chunk, "stderr"));
    channel.on("close", () => this.end(new Error("the shell on the host ended")));
  }

  /**
   * Opens the shell and runs the probe (one exec channel). A host that runs no shell gets a shell that has ended and
   * no tools. @throws what opening the channel throws (the connection lost, the server refusing a session).
   */
  static async open(session: SshSession): Promise<HostShell> {
    const shell = new HostShell(session, await session.openChannel(SHELL_COMMAND));
    // The probe prints before `exec sh` reads its first command, so its lines are that command's output.
    const first = await shell.run(":").catch(() => undefined);
    shell.probed = parseProbe(first?.stdout.toString("utf8") ?? "");
    return shell;
  }

  /** What the host offers beyond SFTP. */
  get tools(): HostTools {
    return this.probed;
  }

  /** False once the shell has ended or the connection dropped. */
  get alive(): boolean {
    return !this.ended && this.session.alive;
  }

  /** Whether a command taking long (a checksum) is running or waiting: short ones had better not queue behind it. */
  get holdingLong(): boolean {
    return this.longQueued > 0;
  }

  /** Whether nothing is running or waiting. */
  get idle(): boolean {
    return this.queued === 0;
  }

  /**
   * Runs `command` (one POSIX command line, no line breaks outside quotes) after the ones before it. `signal` ends
   * the shell, and the command with it, resolving with `exitCode: null` as a closed exec channel does; `long`
   * marks a command that may take seconds. Never rejects for a non-zero exit status; rejects when the shell or the
   * connection ends first.
   */
  run(command: string, options: { signal?: AbortSignal; long?: boolean } = {}): Promise<ExecResult> {
    const { signal, long = false } = options;
    this.queued++;
    if (long) this.longQueued++;
    const result = this.queue
      .then(() => this.session.track(() => this.send(command, signal)))
      .finally(() => {
        this.queued--;
        if (long) this.longQueued--;
      });
    this.queue = result.catch(() => undefined);
    return result;
  }

  private send(command: string, signal: AbortSignal | undefined): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      if (!this.alive) return reject(new Error("the shell on the host ended"));
      const marker = `vhd-end-${this.prefix}-${++this.serial}`;
      const abort = (): void => {
        const running = this.running;
        this.running = undefined;
        this.ended = true;
        this.channel.close();
        running?.settle({ result: { stdout: running.stdout, stderr: running.stderr.toString("utf8"), exitCode: null } });
      };
      this.running = {
        marker,
        stdout: Buffer.alloc(0),
        stderr: Buffer.alloc(0),
        exitCode: undefined,
        stderrDone: false,
        settle: (outcome) => {
          signal?.removeEventListener("abort", abort);
          if ("result" in outcome) resolve(outcome.result);
          else reject(outcome.error);
        },
      };
      if (signal?.aborted) return abort();
      signal?.addEventListener("abort", abort, { once: true });
      this.channel.write(`{ ${command}\n} </dev/null; printf '%s %d\\n' ${marker} $?; printf '%s\\n' ${marker} >&2\n`);
    });
  }

  private onOutput(chunk: Buffer, stream: "stdout" | "stderr"): void {
    const running = this.running;
    // Output before the first command (a login banner of a ForceCommand) belongs to nobody.
    if (running === undefined) return;
    running[stream] = Buffer.concat([running[stream], chunk]);
    const at = running[stream].indexOf(running.marker);
    if (at < 0) return;
    const tail = running[stream].subarray(at + running.marker.length).toString("latin1");
    if (stream === "stdout") {
      const status = /^ (\d+)\n/.exec(tail);
      if (status === null) return;
      running.exitCode = Number(status[1]);
    } else {
      if (!tail.startsWith("\n")) return;
      running.stderrDone = true;
    }
    running[stream] = running[stream].subarray(0, at);
    if (running.exitCode === undefined || !running.stderrDone) return;
    this.running = undefined;
    running.settle({ result: { stdout: running.stdout, stderr: running.stderr.toString("utf8"), exitCode: running.exitCode } });
  }

  private end(reason: unknown): void {
    this.ended = true;
    const running = this.running;
    this.running = undefined;
    running?.settle({ error: reason });
  }
}

const shells = new WeakMap<SshSession, Promise<HostShell | undefined>>();

/**
 * The connection's shell, opened with the tool probe on first use and again when it has ended (an abort); undefined
 * when the host runs none (a shell that ended before its first answer, a server that opens no channel for it), which
 * is not asked again on this connection.
 */
export async function shellOf(session: SshSession): Promise<HostShell | undefined> {
  const known = shells.get(session);
  const shell = await known;
  if (known !== undefined && (shell === undefined || shell.alive || !session.alive)) return shell;
  if (shells.get(session) !== known) return shellOf(session);
  const opened = HostShell.open(session).then(
    (fresh) => (fresh.alive ? fresh : undefined),
    () => undefined,
  );
  shells.set(session, opened);
  return opened;
}
