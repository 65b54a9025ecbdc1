/**
 * Fingerprints and volume facts over one long-lived exec channel per connection (remote-shell.ts `statLoop`): a
 * question goes in as a line or a few, its answer comes back as a line, answers in order, any number in flight. Why:
 * the engine calls `check` once per resource and one after another, and a fingerprint on an exec channel of its own
 * made sshd set up a session and start the login shell each time, 150-450 ms measured on the test sshd, so 50 disks
 * off a remote parent waited 50 of those in a row (README, bench:remote); and each of the 50 creates ran the volume's
 * command the same way, 4 at a time. Over the loop an answer costs a round trip and one `stat` process.
 *
 * Opened only once the host's probe found GNU stat (so its login shell runs POSIX commands), by a fingerprint; the
 * volume's facts take the loop only when one is open already ({@link statShellIfOpen}), so a command that asks nothing
 * else (`vhd create-differencing`) runs the one command it needs instead of a probe and a loop. A loop that cannot be
 * opened or dies answers undefined and the caller takes its other path, as it did for a failed command.
 *
 * A question unanswered for as long as the host may leave any request unanswered (`SshSession.answerTimeoutMs`:
 * a `stat` of a path on a hung file system, such as an NFS mount whose server is gone, never returns) is given up
 * with `ERROR_TIMEOUT`, and the loop is closed with it: its answers still to come would be read as the answers to
 * later questions. Those, and the ones already sent behind it, go to a new loop, or, for what asks only an open one,
 * to a command.
 */
import { randomBytes } from "node:crypto";
import type { ClientChannel } from "ssh2";
import { statLoop } from "./remote-shell";
import type { SshSession } from "./session-pool";

const shells = new WeakMap<SshSession, Promise<StatShell | undefined>>();

/** The session's loop, opened on first use; undefined when the host would not open it. */
export function statShellOf(session: SshSession): Promise<StatShell | undefined> {
  let shell = shells.get(session);
  if (shell === undefined) {
    const token = randomBytes(8).toString("hex");
    // A loop that ended (the host killed it, or a question went unanswered) is opened again by the next caller, not
    // left answering nothing.
    const forget = (): void => {
      if (shells.get(session) === opened) shells.delete(session);
    };
    const opened: Promise<StatShell | undefined> = session.openChannel(statLoop(token)).then(
      (channel) => new StatShell(session, channel, token, forget),
      () => undefined,
    );
    shells.set(session, opened);
    shell = opened;
  }
  return shell;
}

/** The session's loop if one is open or opening (never opens one); undefined otherwise. */
export function statShellIfOpen(session: SshSession): Promise<StatShell | undefined> | undefined {
  return shells.get(session);
}

/** One open loop. */
export class StatShell {
  /** The questions sent and not yet answered, in the order their answers come. */
  private readonly waiting: Array<{ question: string; answer: (answer: string | undefined | Promise<string | undefined>) => void }> = [];
  private partial = "";
  private open = true;

  constructor(
    private readonly session: SshSession,
    private readonly channel: ClientChannel,
    private readonly token: string,
    /** Takes this loop out of use, so that the next question opens another. */
    private readonly forget: () => void,
  ) {
    channel.setEncoding("utf8");
    channel.on("data", (chunk: string) => this.take(chunk));
    // The loop's stderr is sent to /dev/null; a start-up file's is read and dropped so it never fills the window.
    channel.stderr.resume();
    channel.on("close", () => this.close(false));
  }

  /**
   * The loop's answer line to `question` (remote-shell.ts `fingerprintQuestion`, `volumeQuestion`); undefined when the
   * loop is gone. Rejects when the connection drops meanwhile, and with an `ETIMEDOUT` error (which ssh-errors.ts maps
   * to `ERROR_TIMEOUT`) when no answer comes within `SshSession.answerTimeoutMs`; the loop is then closed, and the
   * questions behind it are asked again of a new loop (answered undefined, a fingerprint would fall back to SFTP's
   * weaker one, without an inode).
   */
  ask(question: string): Promise<string | undefined> {
    if (!this.open) return Promise.resolve(undefined);
    const { answerTimeoutMs } = this.session;
    return this.session.track(
      () =>
        new Promise<string | undefined>((resolve, reject) => {
          const waiting = {
            question,
            answer: (answer: string | undefined | Promise<string | undefined>) => {
              clearTimeout(timer);
              resolve(answer);
            },
          };
          const timer = setTimeout(() => {
            const error = new Error(
              `no answer within ${answerTimeoutMs / 1000} s from stat on the host, as when a file system there hangs (an unreachable NFS server)`,
            );
            // Out of the queue first: the close asks the others again, and this one would hang the next loop too.
            this.waiting.splice(this.waiting.indexOf(waiting), 1);
            reject(Object.assign(error, { code: "ETIMEDOUT" }));
            this.close(true);
          }, answerTimeoutMs);
          // The connection's tracking keeps the process alive while the question is out; the timer need not.
          timer.unref();
          this.waiting.push(waiting);
          this.channel.write(question);
        }),
    );
  }

  /**
   * Ends the loop; whatever the host still sends is dropped. The questions still waiting are asked again of a new
   * loop when this one is given up while alive (`reask`, a question unanswered), else answer undefined (the loop died).
   */
  private close(reask: boolean): void {
    if (!this.open) return;
    this.open = false;
    this.forget();
    this.channel.close();
    for (const { question, answer } of this.waiting.splice(0)) {
      answer(reask ? statShellOf(this.session).then((next) => next?.ask(question)) : undefined);
    }
  }

  private take(chunk: string): void {
    const lines = (this.partial + chunk).split("\n");
    this.partial = lines.pop() ?? "";
    const prefix = `${this.token} `;
    for (const line of lines) {
      if (line.startsWith(prefix)) this.waiting.shift()?.answer(line.slice(prefix.length));
    }
  }
}
