/**
 * The command lines the SSH adapter runs on a host, built so that no path can change what runs: sshd hands the
 * string to the user's login shell (`$SHELL -c`, OpenSSH session.c do_child), so every path goes in POSIX single
 * quotes (POSIX sh §2.2.2: nothing inside them is special, and `'` is written `'\''`) after `--`. On Windows, where
 * Win32-OpenSSH's default shell is cmd.exe (which has no safe quoting), the script goes to PowerShell as
 * `-EncodedCommand` (base64 of UTF-16LE), with paths as single-quoted PowerShell literals (`'` doubled).
 */
import { VhdError, type ErrorParameter } from "../../errors";

/**
 * Whether a command line can carry `path`: not with NUL or a line break, which no tool below takes safely. Such a
 * path is still a valid POSIX name; the adapter then does without the command (SFTP alone), as on a host without it.
 */
export function commandCarries(path: string): boolean {
  return !/[\0\n\r]/.test(path);
}

/** `value` when a command carries it ({@link commandCarries}). @throws `ERROR_INVALID_NAME` otherwise. */
function carried(value: string, parameter: ErrorParameter): string {
  if (!commandCarries(value)) {
    throw new VhdError("ERROR_INVALID_NAME", "a remote path cannot contain NUL or a line break", { parameter, path: value });
  }
  return value;
}

/** Quotes `value` as one POSIX shell word. @throws `ERROR_INVALID_NAME` for a value no command carries ({@link commandCarries}). */
export function posixQuote(value: string, parameter: ErrorParameter = "path"): string {
  return `'${carried(value, parameter).replace(/'/g, `'\\''`)}'`;
}

/** Quotes `value` as a PowerShell single-quoted string literal (about_Quoting_Rules: `'` doubled). */
export function powershellQuote(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, "$&$&")}'`;
}

/** A command line that runs `script` in Windows PowerShell without passing it through cmd.exe's parser. */
export function powershellCommand(script: string): string {
  return `powershell -NoProfile -NonInteractive -EncodedCommand ${Buffer.from(script, "utf16le").toString("base64")}`;
}

/**
 * What the adapter must know of a POSIX host before it can choose between a command and SFTP, found once per
 * session. The hash and the volume's facts need no such knowledge (their commands fall back within themselves).
 */
export interface HostTools {
  /** GNU `stat` with `-c` and `%.9Y` (nanosecond times): the strong fingerprint. */
  gnuStat: boolean;
}

/**
 * The probe. It prints `tool gnu-stat` when GNU stat is there; a host whose login shell is not POSIX (cmd.exe, a
 * ForceCommand wrapper) prints nothing of the kind and gets the SFTP-only paths.
 */
export const PROBE_COMMAND = "stat -c '%.9Y' / >/dev/null 2>&1 && echo 'tool gnu-stat'; exit 0";

/** Reads the probe's output. */
export function parseProbe(stdout: string): HostTools {
  return { gnuStat: /^tool gnu-stat\r?$/m.test(stdout) };
}

/**
 * Prints, on one line, what `volumeFacts` asks of the folder "$d", the `$i`th asked: `folder <i> fs-magic <hex>
 * access writable|denied`. The volume's type is the statfs magic `stat -f` prints in hex (GNU coreutils; empty when
 * `stat` is not GNU's), write access what `test -w` (access(2) on the host) says for the server's user.
 */
const FOLDER_FACTS =
  `printf 'folder %s fs-magic %s ' "$i" "$(stat -f -c '%t' -- "$d" 2>/dev/null)"; ` +
  `if test -w "$d"; then echo 'access writable'; else echo 'access denied'; fi`;

/**
 * A loop that answers each question read ({@link fingerprintQuestion}, {@link volumeQuestion}) with one line: `token`
 * (hex), a space, then the answer. The token tells answers from anything the login shell's start-up files print.
 * `read -r` with an empty IFS takes each line as it is; a path holds no line break ({@link commandCarries}).
 * - `f<path>`: GNU stat of the file the path leads to (`-L`, as opening it would): device, inode, size and nanosecond
 *   mtime and ctime, e.g. `2049 1234 4096 1764471631.123456789 1764471631.987654321`, or `-` when stat fails
 *   (missing, permission: the caller asks SFTP for the mapped error).
 * - `v<n>` and n folder lines: what {@link volumeCommand} prints for the first of them that is a folder, or `-`.
 */
export function statLoop(token: string): string {
  if (!/^[0-9a-f]+$/.test(token)) throw new Error("the token must be hex digits");
  return (
    `while IFS= read -r l; do printf '%s ' ${token}; case $l in ` +
    `f*) stat -L -c '%d %i %s %.9Y %.9Z' -- "\${l#f}" 2>/dev/null || echo -;; ` +
    `v*) n=\${l#v}; i=0; f=; while [ "$i" -lt "$n" ] && IFS= read -r d; do ` +
    `if [ -z "$f" ] && [ -d "$d" ]; then f=1; ${FOLDER_FACTS}; fi; i=$((i+1)); done; [ -n "$f" ] || echo -;; ` +
    `*) echo -;; esac; done`
  );
}

/** The question for {@link statLoop} about the file at `path`. @throws `ERROR_INVALID_NAME` as {@link posixQuote} does. */
export function fingerprintQuestion(path: string, parameter: ErrorParameter = "path"): string {
  return `f${carried(path, parameter)}\n`;
}

/** The question for {@link statLoop} about the nearest of `folders` that is a folder. @throws `ERROR_INVALID_NAME` as {@link posixQuote} does. */
export function volumeQuestion(folders: readonly string[]): string {
  return `v${folders.length}\n${folders.map((folder) => `${carried(folder, "path")}\n`).join("")}`;
}

/** Parses a fingerprint answer of {@link statLoop} (the part after the token); undefined when it is not five fields of the expected shape. */
export function parseFingerprint(stdout: string): { dev: string; ino: string; size: number; mtimeNs: string; ctimeNs: string } | undefined {
  const match = /^(\d+) (\d+) (\d+) (\d+)\.(\d{9}) (\d+)\.(\d{9})\s*$/.exec(stdout);
  if (match === null) return undefined;
  const [, dev = "", ino = "", size = "", mS = "", mN = "", cS = "", cN = ""] = match;
  const ns = (seconds: string, nanos: string): string => (BigInt(seconds) * 1_000_000_000n + BigInt(nanos)).toString();
  return { dev, ino, size: Number(size), mtimeNs: ns(mS, mN), ctimeNs: ns(cS, cN) };
}

/**
 * The SHA-256 of a file by the fastest tool the host has, in one command that needs no probe first: `openssl dgst`
 * (its complaints silenced), else `sha256sum`, whose error (not found, permission denied) is what stderr then says.
 * A host with neither prints no digest, and the caller streams the file instead.
 */
export function sha256Command(path: string): string {
  const quoted = posixQuote(path);
  return `openssl dgst -sha256 -r -- ${quoted} 2>/dev/null || sha256sum -b -- ${quoted}`;
}

/**
 * The digest from `openssl dgst -r` (`<hex> *<path>`) or `sha256sum` (`<hex> *<path>`, with a leading `\` when the
 * name needed escaping); undefined when the output has no digest.
 */
export function parseSha256Output(stdout: string): string | undefined {
  const match = /^\\?([0-9a-f]{64})\s/i.exec(stdout);
  return match?.[1]?.toLowerCase();
}

/** The PowerShell script for a file's SHA-256 on a Windows host (Get-FileHash, .NET's SHA256). */
export function windowsSha256Script(path: string): string {
  return `(Get-FileHash -LiteralPath ${powershellQuote(path)} -Algorithm SHA256).Hash`;
}

/**
 * One command for what `volumeFacts` asks of a folder beyond statvfs@: the facts of the first of `folders` that is a
 * folder (links followed; the nearest existing one when they go up a path), as {@link statLoop} answers them. A shell
 * that is not POSIX prints nothing of the kind; none of `folders` a folder, nothing at all.
 */
export function volumeCommand(folders: readonly string[]): string {
  const quoted = folders.map((folder) => posixQuote(folder)).join(" ");
  return `i=0; for d in ${quoted}; do if [ -d "$d" ]; then ${FOLDER_FACTS}; exit 0; fi; i=$((i+1)); done`;
}

/** Reads the facts {@link volumeCommand} or {@link statLoop} printed: which folder answered, its statfs magic (none when `stat -f` failed) and write access. */
export function parseVolumeAnswer(stdout: string): { folderIndex?: number; fsMagic?: number; writable?: boolean } {
  const match = /^folder (\d+) fs-magic (\S*) access (writable|denied)\r?$/m.exec(stdout);
  if (match === null) return {};
  const [, index = "", magic = "", access] = match;
  return {
    folderIndex: Number(index),
    ...(/^[0-9a-f]+$/.test(magic) ? { fsMagic: Number.parseInt(magic, 16) >>> 0 } : {}),
    writable: access === "writable",
  };
}
