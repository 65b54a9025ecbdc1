/**
 * The one mapping from what ssh2 and an SFTP server report to the error table. SFTP v3 collapses errno into a few
 * status codes (draft-ietf-secsh-filexfer-02 §7; OpenSSH sftp-server.c errno_to_portable): EEXIST, ENOSPC and EROFS
 * all arrive as FAILURE (4), so callers that can tell them apart (by a follow-up `lstat` or `statvfs`) pass
 * `onFailure`. Connection errors come from ssh2's `level` (`client-socket`, `client-timeout`,
 * `client-authentication`, `handshake`) and Node's socket errno.
 *
 * Every message names the host as `ssh://user@host:port` and never holds a password, key or passphrase: `redact`
 * removes any secret value that a library message might echo.
 */
import { VhdError, isVhdError, type ErrorName, type ErrorParameter } from "../../errors";
import { isUnanswered } from "../facts";

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02 §7). */
export const SFTP_STATUS = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** What a remote call was about, for the error it raises. */
export interface SshErrorContext {
  /** `ssh://user@host:port`. */
  hostLabel: string;
  /** The input the path came from. */
  parameter?: ErrorParameter;
  /** The file as an identity URL (`ssh://user@host:port/abs/path`), when the call was about one. */
  path?: string;
  /** What we were doing, as a verb phrase: "create the temporary file". */
  action: string;
  /** Secret values to strip from any message (passwords, keys, passphrases). */
  secrets?: readonly string[];
  /** The table row for an SFTP FAILURE (4), when the caller found out what it meant. */
  onFailure?: { code: ErrorName; advice: string };
}

const SFTP_ROWS: Readonly<Record<number, { code: ErrorName; advice: string }>> = {
  [SFTP_STATUS.NO_SUCH_FILE]: { code: "ERROR_PATH_NOT_FOUND", advice: "the file or a folder on its path does not exist" },
  [SFTP_STATUS.PERMISSION_DENIED]: {
    code: "ERROR_ACCESS_DENIED",
    advice: "permission denied; check the file's and the folder's permissions for the SSH user",
  },
  [SFTP_STATUS.BAD_MESSAGE]: { code: "ERROR_INVALID_NAME", advice: "the server rejected the path (too long or invalid)" },
  [SFTP_STATUS.NO_CONNECTION]: { code: "ERROR_NETNAME_DELETED", advice: "the SFTP session is not connected" },
  [SFTP_STATUS.CONNECTION_LOST]: { code: "ERROR_NETNAME_DELETED", advice: "the SFTP session was lost" },
  [SFTP_STATUS.OP_UNSUPPORTED]: { code: "ERROR_NOT_SUPPORTED", advice: "the SFTP server does not implement this operation" },
};

/** Socket errno values of a failed dial. */
const DIAL_ROWS: Readonly<Record<string, { code: ErrorName; advice: string }>> = {
  ECONNREFUSED: { code: "ERROR_CONNECTION_REFUSED", advice: "nothing accepts SSH connections on that port" },
  ENOTFOUND: { code: "ERROR_HOST_UNREACHABLE", advice: "the host name does not resolve" },
  EAI_AGAIN: { code: "ERROR_HOST_UNREACHABLE", advice: "the host name could not be resolved (DNS did not answer)" },
  EHOSTUNREACH: { code: "ERROR_HOST_UNREACHABLE", advice: "no route to the host" },
  ENETUNREACH: { code: "ERROR_HOST_UNREACHABLE", advice: "the host's network is unreachable" },
  ETIMEDOUT: { code: "ERROR_TIMEOUT", advice: "the host did not answer in time" },
  ECONNRESET: { code: "ERROR_NETNAME_DELETED", advice: "the host closed the connection" },
  EPIPE: { code: "ERROR_NETNAME_DELETED", advice: "the connection to the host broke" },
};

/** Replaces every secret value (and each of its lines, for multi-line keys) found in `text` by `[redacted]`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    const pieces = [secret, ...secret.split(/\r?\n/).map((line) => line.trim())].filter((piece) => piece.length >= 4);
    for (const piece of pieces) out = out.split(piece).join("[redacted]");
  }
  return out;
}

/**
 * True for ssh2's synchronous refusal of an extension the server did not advertise in its VERSION reply (OpenSSH
 * PROTOCOL §4.2: clients must check before use; ssh2 checks and throws).
 */
export function isUnsupportedExtension(error: unknown): boolean {
  return error instanceof Error && /does not support this extended request/i.test(error.message);
}

/** The `code` of an ssh2/Node error: an SFTP status number or an errno string. */
function codeOf(error: unknown): number | string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" || typeof code === "string" ? code : undefined;
}

/** ssh2's classification of a connection-level error. */
function levelOf(error: unknown): string | undefined {
  const level = (error as { level?: unknown } | null)?.level;
  return typeof level === "string" ? level : undefined;
}

/** True for an error that means the SSH connection (not one request) failed: the session must be dialled again. */
export function isConnectionLoss(error: unknown): boolean {
  if (isVhdError(error)) return isUnanswered(error);
  const message = error instanceof Error ? error.message : "";
  const code = codeOf(error);
  return (
    /No response from server|Not connected|Keepalive timeout/i.test(message) ||
    code === SFTP_STATUS.NO_CONNECTION ||
    code === SFTP_STATUS.CONNECTION_LOST ||
    code === "ECONNRESET" ||
    code === "EPIPE" ||
    levelOf(error) === "client-socket" ||
    levelOf(error) === "client-timeout"
  );
}

/** The table row for an ssh2 or SFTP error. */
function rowFor(error: unknown, context: SshErrorContext): { code: ErrorName; advice: string } | undefined {
  const code = codeOf(error);
  const level = levelOf(error);
  const message = error instanceof Error ? error.message : "";
  if (code === SFTP_STATUS.FAILURE) return context.onFailure;
  if (isUnsupportedExtension(error)) return SFTP_ROWS[SFTP_STATUS.OP_UNSUPPORTED];
  if (typeof code === "number") return SFTP_ROWS[code];
  if (typeof code === "string" && DIAL_ROWS[code] !== undefined) return DIAL_ROWS[code];
  if (level === "client-authentication") {
    return { code: "ERROR_LOGON_FAILURE", advice: "the server accepted none of the credentials (user, key, password, agent)" };
  }
  if (level === "client-timeout" || /Timed out while waiting for handshake/i.test(message)) {
    return { code: "ERROR_TIMEOUT", advice: "the host did not answer in time (dial, handshake or keepalive)" };
  }
  if (/Cannot parse privateKey|Encrypted private (OpenSSH )?key detected|bad passphrase/i.test(message)) {
    return { code: "E_INVALIDARG", advice: "the private key cannot be used (wrong format or passphrase)" };
  }
  // ssh2 gives this one level "protocol", but it is the network's doing: sshd past MaxStartups, a firewall or a
  // host still booting closes the socket before its banner, and another dial may well get through.
  if (/Connection lost before handshake/i.test(message)) {
    return { code: "ERROR_NETNAME_DELETED", advice: "the host closed the connection before the SSH handshake (sshd's MaxStartups, a firewall, or sshd not ready)" };
  }
  if (isConnectionLoss(error)) return { code: "ERROR_NETNAME_DELETED", advice: "the connection to the host was lost" };
  return undefined;
}

/**
 * Turns anything ssh2, the SFTP server or a remote command threw into a {@link VhdError} from the table; a
 * `VhdError` passes through. Unknown failures become `DISP_E_EXCEPTION` keeping the (redacted) server message.
 */
export function vhdErrorFromSsh(error: unknown, context: SshErrorContext): VhdError {
  if (isVhdError(error)) return error;
  const row = rowFor(error, context);
  const native = redact(error instanceof Error ? error.message : String(error), context.secrets);
  const code = codeOf(error);
  const what = code === undefined ? native : `${native}, ${typeof code === "number" ? `SFTP status ${code}` : code}`;
  const init = {
    ...(context.parameter === undefined ? {} : { parameter: context.parameter }),
    ...(context.path === undefined ? {} : { path: context.path }),
    details: { host: context.hostLabel, ...(code === undefined ? {} : { remoteCode: code }) },
  };
  const reason = row === undefined ? `unexpected failure` : row.advice;
  return new VhdError(row?.code ?? "DISP_E_EXCEPTION", `${context.hostLabel}: could not ${context.action}: ${reason} (${what})`, {
    ...init,
    cause: new Error(what),
  });
}
