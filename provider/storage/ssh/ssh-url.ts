/**
 * `ssh://[user@]host[:port]/path`: how the CLI names a remote file and how identities and errors name a host
 * (qemu's ssh block driver and libvirt write remote hosts the same way).
 *
 * The path is everything after the authority, kept literally (no percent-decoding), so any file name the host allows
 * can be written; a Windows path is written in its SFTP form, `ssh://host/C:/VMs/a.vhd`.
 */
import { VhdError, type ErrorParameter } from "../../errors";

/** The parts of an `ssh://` URL. */
export interface SshUrl {
  /** User name, when the URL gives one. */
  user?: string;
  /** Host name or IP address; an IPv6 address without its brackets. */
  host: string;
  /** TCP port, when the URL gives one. */
  port?: number;
  /** The absolute path on the host, beginning with `/`. */
  path: string;
}

/** True when `text` is written as an `ssh://` URL (the CLI's test for "remote"). */
export function isSshUrl(text: string): boolean {
  return /^ssh:\/\//i.test(text);
}

/**
 * Parses `ssh://[user@]host[:port]/path` (`[::1]` for IPv6).
 * @throws `ERROR_BAD_PATHNAME` naming `parameter` when the text is not such a URL or has no absolute path.
 */
export function parseSshUrl(text: string, parameter: ErrorParameter = "path"): SshUrl {
  const bad = (why: string): VhdError =>
    new VhdError("ERROR_BAD_PATHNAME", `not an ssh://[user@]host[:port]/path URL: ${why}`, { parameter, path: text });
  if (!isSshUrl(text)) throw bad("it does not begin with ssh://");
  const rest = text.slice("ssh://".length);
  // Neither a user name, a host nor an IPv6 literal holds a slash, so the first one starts the path.
  const slash = rest.indexOf("/");
  if (slash < 0) throw bad("it names no path on the host");
  const authority = rest.slice(0, slash);
  const at = authority.lastIndexOf("@");
  const user = at >= 0 ? authority.slice(0, at) : undefined;
  if (user === "") throw bad("the user name before @ is empty");
  const hostPort = authority.slice(at + 1);
  const match = /^(?:\[([0-9A-Fa-f:.%\w-]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(hostPort);
  if (match === null) throw bad(`"${hostPort}" is not host, host:port or [IPv6]:port`);
  const host = match[1] ?? match[2] ?? "";
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && (port < 1 || port > 65535)) throw bad(`port ${port} is outside 1-65535`);
  const path = rest.slice(slash);
  if (path === "/") throw bad("the path on the host is empty");
  return { ...(user === undefined ? {} : { user }), host, ...(port === undefined ? {} : { port }), path };
}

/** The host part of an identity: `ssh://user@host:port`, IPv6 in brackets. */
export function formatSshHost(user: string, host: string, port: number): string {
  return `ssh://${user}@${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** A remote file's identity: `ssh://user@host:port/abs/path` (user and port always written, so one file has one name). */
export function formatSshUrl(user: string, host: string, port: number, path: string): string {
  return `${formatSshHost(user, host, port)}${path.startsWith("/") ? path : `/${path}`}`;
}
