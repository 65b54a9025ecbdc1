/**
 * Where the files a command names are: this machine, or a remote host when a path is written
 * `ssh://[user@]host[:port]/path` (storage/ssh/ssh-url.ts). A command's paths are all on one host: the `ssh://` ones
 * must name the same host, and a plain path next to them (a parent relative to the new disk, say) is on that host too.
 * The remote host is reached as `ssh` would: the URL's user (default: the local user name), port 22, the key of
 * `--identity` (an encrypted one opened with the passphrase in `VHD_SSH_KEY_PASSPHRASE`, else asked for on the
 * terminal), else the ssh-agent of `SSH_AUTH_SOCK`; each dial given `--connect-timeout` seconds (ssh's
 * ConnectTimeout); its host key checked against `--host-key`, else `--known-hosts` (default `~/.ssh/known_hosts` when
 * it exists), unless `--no-host-key-checking`.
 */
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { VhdError, type ErrorParameter } from "../errors";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import type { ConnectionArgs } from "../storage/ssh/connection-args";
import { checkKeyFileSize, checkKeyPassphrase, isEncryptedKey } from "../storage/ssh/private-key";
import { SshStorage } from "../storage/ssh/ssh-storage";
import { formatSshHost, isSshUrl, parseSshUrl } from "../storage/ssh/ssh-url";
import { canPrompt, promptHidden } from "./hidden-prompt";

/**
 * The environment variable holding the passphrase of an encrypted `--identity` key. Never an option: a command
 * line is visible to every user of the machine (`ps`).
 */
export const KEY_PASSPHRASE_ENV = "VHD_SSH_KEY_PASSPHRASE";

/** The remote-host options every subcommand takes (commander's names for them). */
export interface RemoteOptions {
  /** `--identity <file>`: an OpenSSH or PEM private key file, encrypted or not. */
  identity?: string;
  /** `--connect-timeout <seconds>`: how long each dial may take (ConnectionArgs.perDialTimeout). */
  connectTimeout?: string;
  /** `--known-hosts <file>`: an OpenSSH known_hosts file. */
  knownHosts?: string;
  /** `--host-key <line|SHA256:...>`: the host key to trust, pinned. */
  hostKey?: string;
  /** False with `--no-host-key-checking` (ConnectionArgs.hostKeyChecking). */
  hostKeyChecking?: boolean;
}

/** Adds the remote-host options to a subcommand. */
export function withRemoteOptions(command: Command): Command {
  return command
    .option("--identity <file>", `private key file for ssh:// paths (default: the ssh-agent of SSH_AUTH_SOCK); encrypted: passphrase from ${KEY_PASSPHRASE_ENV}, else asked for on a terminal`)
    .option("--connect-timeout <seconds>", "seconds each connection attempt to an ssh:// host may take, as ssh's ConnectTimeout (default 15)")
    .option("--known-hosts <file>", "known_hosts file to check an ssh:// host's key against (default ~/.ssh/known_hosts)")
    .option("--host-key <key>", "the ssh:// host's key to trust: a public-key line or its SHA256: fingerprint")
    .option("--no-host-key-checking", "accept an ssh:// host's key unchecked when neither --host-key nor known_hosts has it");
}

/** A command's paths, each with the input it came from, and the storage that holds them. */
export interface Located {
  storage: Storage;
  /** The paths on that storage, in the order given (ssh:// URLs reduced to the host's path). */
  paths: string[];
}

/**
 * The storage holding `paths` and their paths on it.
 * @throws `ERROR_BAD_PATHNAME` for a malformed `ssh://` URL; `E_INVALIDARG` when the URLs name two hosts;
 *   `ERROR_PATH_NOT_FOUND`/`ERROR_ACCESS_DENIED` reading `--identity`, `E_INVALIDARG` when it is no private key,
 *   `ERROR_INVALID_PASSWORD` when it is encrypted and no passphrase or a wrong one is given (each naming the file).
 */
export async function locate(paths: readonly { path: string; parameter: ErrorParameter }[], options: RemoteOptions): Promise<Located> {
  const urls = paths.map(({ path, parameter }) => (isSshUrl(path) ? parseSshUrl(path, parameter) : undefined));
  const first = urls.find((url) => url !== undefined);
  if (first === undefined) return { storage: localStorage, paths: paths.map(({ path }) => path) };
  const user = first.user ?? userInfo().username;
  const port = first.port ?? 22;
  const host = formatSshHost(user, first.host, port);
  for (const [index, url] of urls.entries()) {
    if (url !== undefined && formatSshHost(url.user ?? user, url.host, url.port ?? 22) !== host) {
      throw new VhdError("E_INVALIDARG", `every path of one command must be on one host; ${host} was named first`, {
        parameter: paths[index]!.parameter,
        path: paths[index]!.path,
      });
    }
  }
  const knownHosts = await knownHostsOf(options);
  // The adapter's own refusal names the provider's inputs (connection.hostKey, ...); a CLI user needs the options.
  if (options.hostKey === undefined && knownHosts.knownHostsPath === undefined && options.hostKeyChecking !== false) {
    throw new VhdError(
      "E_INVALIDARG",
      `cannot check the identity of ${host}: give --host-key (its "SHA256:..." fingerprint or public-key line), ` +
        "--known-hosts <file> (~/.ssh/known_hosts does not exist), or opt out explicitly with --no-host-key-checking",
      { parameter: paths[urls.indexOf(first)]!.parameter },
    );
  }
  const connection: ConnectionArgs = {
    host: first.host,
    port,
    user,
    ...(options.connectTimeout === undefined ? {} : { perDialTimeout: connectTimeoutOf(options.connectTimeout) }),
    ...(options.identity === undefined ? {} : await identityOf(options.identity)),
    ...(options.hostKey === undefined ? {} : { hostKey: options.hostKey }),
    ...knownHosts,
    ...(options.hostKeyChecking === false ? { hostKeyChecking: false } : {}),
  };
  return { storage: new SshStorage(connection), paths: paths.map(({ path }, index) => urls[index]?.path ?? path) };
}

/** `--connect-timeout` in seconds. @throws `E_INVALIDARG` for anything but a positive number. */
function connectTimeoutOf(text: string): number {
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(seconds > 0)) {
    throw new VhdError("E_INVALIDARG", "give --connect-timeout a positive number of seconds, as ssh's ConnectTimeout", {
      parameter: "connectTimeout",
      value: text,
    });
  }
  return seconds;
}

/**
 * The key of `--identity`, with its passphrase when it is encrypted: from {@link KEY_PASSPHRASE_ENV}, else typed at a
 * prompt without echo when stdin is a terminal, as `ssh` asks.
 * @throws naming the key file as `identity`: the local storage's errors reading it (`ERROR_PATH_NOT_FOUND`,
 *   `ERROR_ACCESS_DENIED`), `E_INVALIDARG` when it is no private key (or larger than any), `ERROR_INVALID_PASSWORD` when no passphrase is
 *   given or it does not open the key.
 */
async function identityOf(path: string): Promise<{ privateKey: string; privateKeyPassword?: string }> {
  const privateKey = await readKeyFile(path, "identity");
  if (!isEncryptedKey(privateKey, { parameter: "identity", path })) return { privateKey };
  const given = process.env[KEY_PASSPHRASE_ENV];
  const passphrase = given ?? (canPrompt() ? await promptHidden(`Enter passphrase for key '${path}': `) : undefined);
  checkKeyPassphrase(privateKey, passphrase, {
    parameter: "identity",
    path,
    howToGive: `set ${KEY_PASSPHRASE_ENV}${given === undefined && !canPrompt() ? ", or run vhd from a terminal to be asked for it" : " to the key's passphrase"}`,
  });
  return { privateKey, privateKeyPassword: passphrase };
}

/** `--known-hosts`, else `~/.ssh/known_hosts` when it exists, else none. */
async function knownHostsOf(options: RemoteOptions): Promise<{ knownHostsPath?: string }> {
  if (options.knownHosts !== undefined) return { knownHostsPath: options.knownHosts };
  const fallback = join(homedir(), ".ssh", "known_hosts");
  return (await localStorage.pathFacts(fallback, { followLinks: true })).kind === "file" ? { knownHostsPath: fallback } : {};
}

/** A private key file, read through the local storage. @throws `E_INVALIDARG` for a file larger than any key. */
async function readKeyFile(path: string, parameter: ErrorParameter): Promise<string> {
  const file = await localStorage.open(path, { parameter, action: "read the private key" });
  try {
    checkKeyFileSize(file.size, { parameter, path });
    return Buffer.from(await file.read(0, file.size)).toString("utf8");
  } finally {
    await file.close();
  }
}
