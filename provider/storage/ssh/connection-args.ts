/**
 * How the provider reaches a remote host: the same fields, meanings and defaults as `@pulumi/command`'s
 * `remote.ConnectionArgs` (pulumi-command provider/pkg/provider/remote/connection.go), so a stack that already
 * describes a host for `remote.Command` can hand the same object to a `DifferencingDisk`, plus two fields for host-key
 * trust, which `remote.ConnectionArgs` gets wrong by default (it ignores the host key when `hostKey` is unset).
 */

/** A bastion (jump host) the connection goes through: `ConnectionArgs` without a further `proxy`. */
export interface ProxyConnectionArgs {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** TCP port. Default 22. */
  port?: number;
  /** User name. Default `root`, as in `@pulumi/command`. */
  user?: string;
  /** Password, also answered to keyboard-interactive prompts. Secret: never logged or put in an error. */
  password?: string;
  /** An OpenSSH- or PEM-format private key (the key's text, not a path). Preferred over `password`. Secret. */
  privateKey?: string;
  /** Passphrase of an encrypted `privateKey`. Secret. */
  privateKeyPassword?: string;
  /** ssh-agent socket path. Default: the `SSH_AUTH_SOCK` environment variable when set. */
  agentSocketPath?: string;
  /**
   * The host key to trust: an OpenSSH public-key line (`ssh-ed25519 AAAA... comment`, as in `*.pub` or
   * `ssh-keyscan` output without the host name) or its `SHA256:` fingerprint (as `ssh-keygen -lf` prints it).
   * Unlike `@pulumi/command`, leaving it unset does not mean "trust any key": see `knownHostsPath` and
   * `hostKeyChecking`.
   */
  hostKey?: string;
  /** An OpenSSH known_hosts file (plain, hashed `|1|` and `[host]:port` entries; `@revoked` honoured). */
  knownHostsPath?: string;
  /**
   * OpenSSH's `StrictHostKeyChecking`, as a boolean. Default true: with neither `hostKey` nor `knownHostsPath` the
   * connection is refused before any credential is sent. `false` accepts whatever key the server shows when neither
   * is given (the session reports its fingerprint so it can be pinned); a given `hostKey` or known_hosts entry is
   * still enforced, so a changed key is always refused.
   */
  hostKeyChecking?: boolean;
  /** Failed dial attempts before giving up; -1 means no limit. Default 10. Authentication and host-key failures are never retried. */
  dialErrorLimit?: number;
  /** Seconds each dial attempt (TCP connect and SSH handshake) may take; 0 means no limit. Default 15. */
  perDialTimeout?: number;
}

/** A remote host, optionally reached through a bastion. */
export interface ConnectionArgs extends ProxyConnectionArgs {
  /** The bastion to tunnel through (an SSH `direct-tcpip` channel, as `ssh -J` does). */
  proxy?: ProxyConnectionArgs;
}

/** The defaults of `@pulumi/command`'s `remote.ConnectionArgs` (connectionArgsProvideDefaults). */
export const CONNECTION_DEFAULTS = { port: 22, user: "root", dialErrorLimit: 10, perDialTimeout: 15 } as const;

/** The fields that must never appear in a log, an error or an output (tagged secret in the resource's state). */
export const SECRET_CONNECTION_FIELDS = ["password", "privateKey", "privateKeyPassword"] as const;
