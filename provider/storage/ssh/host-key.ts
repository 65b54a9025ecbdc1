/**
 * Deciding whether the key a server shows is the host's: against a pinned `hostKey` (an OpenSSH public-key line or a
 * `SHA256:` fingerprint) or an OpenSSH known_hosts file. Formats: OpenSSH sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" and
 * ssh-keygen(1) fingerprints (base64 of the SHA-256 of the key blob, without `=` padding).
 */
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { VhdError } from "../../errors";

/** The OpenSSH `SHA256:` fingerprint of a public-key blob (the SSH wire encoding of the key). */
export function sha256Fingerprint(keyBlob: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type written inside an SSH public-key blob (its first string), e.g. `ssh-ed25519`; undefined if malformed. */
function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  return length > 0 && 4 + length <= blob.length ? blob.subarray(4, 4 + length).toString("latin1") : undefined;
}

/** A key the user trusts: its fingerprint, and its type when the key itself (not only a fingerprint) was given. */
export interface TrustedKey {
  fingerprint: string;
  keyType?: string;
}

/**
 * Reads a `hostKey` input: `SHA256:<base64>` or `<type> <base64 blob> [comment]`.
 * @throws `E_INVALIDARG` (parameter `connection.hostKey`) for anything else, or a blob whose type is not the one written.
 */
export function parseHostKey(text: string): TrustedKey {
  const trimmed = text.trim();
  const invalid = (why: string): VhdError =>
    new VhdError("E_INVALIDARG", `${why}; give an OpenSSH public-key line ("ssh-ed25519 AAAA...") or a "SHA256:..." fingerprint (ssh-keygen -lf)`, {
      parameter: "connection.hostKey",
      value: trimmed,
    });
  if (/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(trimmed)) return { fingerprint: trimmed.replace(/=$/, "") };
  const [keyType, base64] = trimmed.split(/\s+/);
  if (keyType === undefined || base64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    throw invalid("the host key is neither a public-key line nor a SHA256 fingerprint");
  }
  const blob = Buffer.from(base64, "base64");
  if (blobKeyType(blob) !== keyType) throw invalid(`the key data is not a ${keyType} key`);
  return { fingerprint: sha256Fingerprint(blob), keyType };
}

/** What a known_hosts file says about a host and a key. */
export type KnownHostsVerdict =
  /** An entry for the host holds this key. */
  | "known"
  /** The host has entries, none with this key: the key changed (or someone is in between). */
  | "changed"
  /** The key is marked `@revoked`. */
  | "revoked"
  /** No entry names the host. */
  | "unknown";

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** A shell-style pattern (`*`, `?`) as a whole-string regular expression, case-insensitive as OpenSSH matches names. */
function patternRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

/** Whether one host field (comma-separated patterns, `!` negations, or one hashed `|1|salt|hash` entry) names `name`. */
function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (salt === undefined || hash === undefined) return false;
    const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return digest === hash;
  }
  let matched = false;
  for (const pattern of field.split(",")) {
    const negated = pattern.startsWith("!");
    if (patternRegExp(negated ? pattern.slice(1) : pattern).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/**
 * Looks `host:port` and the key (by fingerprint) up in known_hosts text. `@cert-authority` lines are skipped: the
 * provider does not accept host certificates.
 */
export function checkKnownHosts(text: string, host: string, port: number, fingerprint: string): KnownHostsVerdict {
  const name = knownHostsName(host, port);
  let listed = false;
  let known = false;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith("@") ? fields.shift() : undefined;
    const [hosts, , base64] = fields;
    if (marker === "@cert-authority" || hosts === undefined || base64 === undefined) continue;
    if (!hostFieldMatches(hosts, name)) continue;
    const matchesKey = sha256Fingerprint(Buffer.from(base64, "base64")) === fingerprint;
    if (marker === "@revoked") {
      if (matchesKey) return "revoked";
      continue;
    }
    listed = true;
    known ||= matchesKey;
  }
  return known ? "known" : listed ? "changed" : "unknown";
}

/** How a connection decides which host key to trust (from `ConnectionArgs`). */
export interface HostKeyPolicy {
  /** The parsed `hostKey`, when given. */
  pinned?: TrustedKey;
  /** The known_hosts file, when given. */
  knownHostsPath?: string;
  /** False: accept an unknown key when nothing above applies. */
  hostKeyChecking: boolean;
}

/**
 * Builds the policy and refuses, before any network traffic, a connection that could not check its host at all.
 * @throws `E_INVALIDARG` (parameter `connection.hostKey`) with neither `hostKey`, `knownHostsPath` nor an opt-out.
 */
export function hostKeyPolicy(
  args: { hostKey?: string; knownHostsPath?: string; hostKeyChecking?: boolean },
  hostLabel: string,
): HostKeyPolicy {
  const checking = args.hostKeyChecking ?? true;
  if (args.hostKey === undefined && args.knownHostsPath === undefined && checking) {
    throw new VhdError(
      "E_INVALIDARG",
      `cannot check the identity of ${hostLabel}: give connection.hostKey (its "SHA256:..." fingerprint or public-key line), ` +
        "connection.knownHostsPath, or opt out explicitly with connection.hostKeyChecking: false",
      { parameter: "connection.hostKey" },
    );
  }
  return {
    ...(args.hostKey === undefined ? {} : { pinned: parseHostKey(args.hostKey) }),
    ...(args.knownHostsPath === undefined ? {} : { knownHostsPath: args.knownHostsPath }),
    hostKeyChecking: checking,
  };
}

/**
 * Judges the key a server showed. Returns normally when it is trusted.
 * @throws `SEC_E_WRONG_PRINCIPAL` for a key other than the pinned one or the one known_hosts lists (a changed or
 * revoked key), `SEC_E_UNTRUSTED_ROOT` when known_hosts does not list the host and checking is on, `E_INVALIDARG`
 * when the known_hosts file cannot be read. Messages name the host and the key's fingerprint (public, never secret).
 */
export function verifyHostKey(policy: HostKeyPolicy, keyBlob: Uint8Array, host: string, port: number, hostLabel: string): void {
  const fingerprint = sha256Fingerprint(keyBlob);
  const keyType = blobKeyType(Buffer.from(keyBlob)) ?? "unknown";
  const details = { host: hostLabel, fingerprint, keyType };
  if (policy.pinned !== undefined) {
    if (policy.pinned.fingerprint === fingerprint) return;
    throw new VhdError(
      "SEC_E_WRONG_PRINCIPAL",
      `${hostLabel} showed host key ${keyType} ${fingerprint}, not the pinned ${policy.pinned.fingerprint}: the key changed ` +
        "or someone is between you and the host; refusing to connect",
      { details },
    );
  }
  if (policy.knownHostsPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(policy.knownHostsPath, "utf8");
    } catch (error) {
      throw new VhdError("E_INVALIDARG", `cannot read the known_hosts file: ${(error as Error).message}`, {
        parameter: "connection.knownHostsPath",
        path: policy.knownHostsPath,
        cause: error,
      });
    }
    const verdict = checkKnownHosts(text, host, port, fingerprint);
    if (verdict === "known") return;
    if (verdict === "changed" || verdict === "revoked") {
      throw new VhdError(
        "SEC_E_WRONG_PRINCIPAL",
        `${hostLabel} showed host key ${keyType} ${fingerprint}, which ${policy.knownHostsPath} ` +
          `${verdict === "revoked" ? "marks @revoked" : "does not list for this host (the host key changed)"}; refusing to connect`,
        { details },
      );
    }
    if (policy.hostKeyChecking) {
      throw new VhdError(
        "SEC_E_UNTRUSTED_ROOT",
        `${policy.knownHostsPath} has no entry for ${knownHostsName(host, port)}; ${hostLabel} showed ${keyType} ${fingerprint}. ` +
          "Add the host (ssh-keyscan) or pin that fingerprint as connection.hostKey after checking it out of band",
        { details },
      );
    }
  }
}
