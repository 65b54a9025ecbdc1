/**
 * Counts the SFTP requests the adapter sends, and how many of them the client waited for one after another: a
 * request sent while no other request of the session is unanswered starts a new round trip, one sent while others
 * are in flight shares theirs (ssh2 pipelines requests on the one channel). Rounds are what a remote operation's
 * time grows with (1-5 ms each on loopback, more over a network; 45 ms before the socket had TCP_NODELAY); tests
 * bound both per operation (`test/storage/ssh/command-count.test.ts`).
 *
 * Counted at the ssh2 method call: every call of the adapter's sends one request, since reads and writes stay within
 * the server's limits (sftp-file.ts) and ssh2 splits only calls beyond them. `readdir` of a path is ssh2's loop of
 * OPENDIR, READDIR until EOF and CLOSE, each counted, because the proxy is `this` for ssh2's own calls.
 *
 * Source: ssh2 1.17 lib/protocol/SFTP.js (which methods send a request, and which call others).
 */
import type { SFTPWrapper } from "ssh2";

/** Request and round-trip totals, shared by every session of the process. */
export interface SftpCounts {
  /** SFTP requests sent. */
  requests: number;
  /** Requests sent with none of the session's in flight: round trips waited for one after another. */
  rounds: number;
}

/**
 * The ssh2 methods that send exactly one request of their own. Those that only call these (`chmod` -> `setstat`,
 * `futimes` -> `fsetstat`, `readdir` of a path -> `opendir`, ...) are counted through them.
 */
const REQUEST_METHODS: ReadonlySet<string> = new Set([
  "open",
  "close",
  "read",
  "write",
  "fstat",
  "fsetstat",
  "stat",
  "lstat",
  "setstat",
  "opendir",
  "unlink",
  "rename",
  "mkdir",
  "rmdir",
  "readlink",
  "symlink",
  "realpath",
  "ext_openssh_rename",
  "ext_openssh_statvfs",
  "ext_openssh_fstatvfs",
  "ext_openssh_hardlink",
  "ext_openssh_fsync",
  "ext_openssh_lsetstat",
  "ext_openssh_expandPath",
  "ext_copy_data",
  "ext_home_dir",
  "ext_users_groups",
]);

type Method = (...args: unknown[]) => unknown;

/**
 * `sftp` with its requests counted into `counts`. The answer of a request is its callback (the last argument);
 * a call that throws instead (an extension the server lacks) sent nothing and counts as nothing.
 */
export function countedSftp(sftp: SFTPWrapper, counts: SftpCounts): SFTPWrapper {
  let inFlight = 0;
  const counted = new Proxy(sftp, {
    get(target, property, receiver): unknown {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      const method = value as Method;
      const sends = (args: unknown[]): boolean => REQUEST_METHODS.has(property) || (property === "readdir" && Buffer.isBuffer(args[0]));
      return (...args: unknown[]): unknown => {
        if (!sends(args)) return method.apply(counted, args);
        const last = args.length - 1;
        const callback = args[last];
        const startsRound = inFlight === 0;
        let pending = typeof callback === "function";
        if (pending) {
          inFlight++;
          args[last] = (...results: unknown[]): unknown => {
            if (pending) inFlight--;
            pending = false;
            return (callback as Method)(...results);
          };
        }
        counts.requests++;
        if (startsRound) counts.rounds++;
        try {
          return method.apply(counted, args);
        } catch (error) {
          if (pending) inFlight--;
          pending = false;
          counts.requests--;
          if (startsRound) counts.rounds--;
          throw error;
        }
      };
    },
  });
  return counted;
}
