/**
 * A private key checked before it is used: that it is a private key at all, whether it is encrypted, and whether a
 * passphrase opens it, so that an unusable key is reported naming the key file and the input that gave it
 * (`E_INVALIDARG`, `ERROR_INVALID_PASSWORD`) rather than as a refused dial or logon on the host. OpenSSH-format and
 * PEM keys, as ssh2 reads them. No error holds the key's text or the passphrase.
 */
import type { ParsedKey } from "ssh2";
import { VhdError, type ErrorParameter } from "../../errors";
import { redact } from "./ssh-errors";

/** ssh2's key parser, loaded when a key is given: ssh2 is about 30 modules a local `vhd` command never needs. */
function parseKey(keyText: string, passphrase?: string): ParsedKey | ParsedKey[] | Error {
  const { utils } = require("ssh2") as typeof import("ssh2");
  return utils.parseKey(keyText, passphrase);
}

/** Where a key came from, for errors: the input, and the key file when the key was read from one. */
export interface KeySource {
  parameter: ErrorParameter;
  /** The key file (`vhd --identity`); absent for a key given as text (a connection's `privateKey`). */
  path?: string;
  /** The host the key is for (`ssh://user@host:port`), when no file names the place. */
  host?: string;
}

/**
 * True when the key's own text says it is not encrypted, read without loading ssh2 (whose load the dial would then
 * wait for, session-pool.ts): a whole OpenSSH-format key whose cipher is `none` (OpenSSH PROTOCOL.key: the magic
 * `openssh-key-v1\0`, the cipher, KDF name and KDF options as SSH strings, the key count, that many public keys and
 * the private section, which ends the blob: so a cut or garbled file is left to the parser, which names what is
 * wrong). Anything else, PEM included, is left to ssh2's parser: PEM's armour says nothing of a cut body, nor of a
 * kind ssh2 does not read (PKCS #8's `BEGIN PRIVATE KEY`), and parsing a PEM key that is not encrypted runs no KDF.
 */
function plainlyUnencrypted(keyText: string): boolean {
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(keyText);
  if (openssh === null) return false;
  const body = Buffer.from(openssh[1] ?? "", "base64");
  const magic = Buffer.from("openssh-key-v1\0", "latin1");
  if (body.length < magic.length || !body.subarray(0, magic.length).equals(magic)) return false;
  let at = magic.length;
  /** The SSH string at `at` (uint32 length, then the bytes), or null past the end. */
  const sshString = (): Buffer | null => {
    if (at + 4 > body.length) return null;
    const end = at + 4 + body.readUInt32BE(at);
    if (end > body.length) return null;
    const value = body.subarray(at + 4, end);
    at = end;
    return value;
  };
  const cipher = sshString();
  if (cipher?.toString("latin1") !== "none" || sshString() === null || sshString() === null || at + 4 > body.length) return false;
  const keys = body.readUInt32BE(at);
  at += 4;
  for (let key = 0; key <= keys; key++) if (sshString() === null) return false;
  return at === body.length;
}

/**
 * True when `keyText` is an encrypted private key (one that ssh2 cannot read without a passphrase), false for a plain
 * one.
 * @throws `E_INVALIDARG` naming the input that gave the key (and its file, or else its host) when the text is no
 *   private key ssh2 reads: not a key, a cut or garbled one, or a public key (the `.pub` file).
 */
export function isEncryptedKey(keyText: string, source: KeySource): boolean {
  if (plainlyUnencrypted(keyText)) return false;
  const parsed = parseKey(keyText);
  if (parsed instanceof Error) {
    if (/no passphrase given/i.test(parsed.message)) return true;
    throw unusableKey(source, `it is not a private key in OpenSSH or PEM format (${redact(parsed.message, [keyText])})`);
  }
  if (!(Array.isArray(parsed) ? parsed : [parsed]).some((key) => key.isPrivateKey())) {
    throw unusableKey(source, "it is a public key (the .pub file)");
  }
  return false;
}

/** The largest key file read (bytes): an OpenSSH RSA key of 16384 bits, the largest ssh-keygen makes, is about 12 KiB. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * Checks a key file's size before it is read whole.
 * @throws `E_INVALIDARG` naming the key file when it is larger than any private key ({@link MAX_KEY_FILE_BYTES}): a
 *   disk image given by mistake is not read into memory.
 */
export function checkKeyFileSize(bytes: number, source: KeySource): void {
  if (bytes > MAX_KEY_FILE_BYTES) {
    throw unusableKey(source, `it holds ${bytes} bytes, more than any private key (${MAX_KEY_FILE_BYTES} at most)`);
  }
}

function unusableKey({ parameter, path, host }: KeySource, what: string): VhdError {
  const reason =
    path === undefined
      ? `${host === undefined ? "" : `${host}: `}the private key cannot be used: ${what}; give the private key's text (OpenSSH or PEM)`
      : `the private key file cannot be used: ${what}; give the private key file, as ssh -i takes`;
  return new VhdError("E_INVALIDARG", reason, { parameter, ...(path === undefined ? {} : { path }) });
}

/**
 * Checks that `passphrase` opens the encrypted `keyText`. The passphrase is never put in the error.
 * @throws `ERROR_INVALID_PASSWORD` naming the key (its input, and its file or host) when no passphrase is given or it
 *   does not open the key.
 */
export function checkKeyPassphrase(
  keyText: string,
  passphrase: string | undefined,
  source: KeySource & { howToGive: string },
): asserts passphrase is string {
  const { parameter, path, host, howToGive } = source;
  const where = { parameter, ...(path === undefined ? {} : { path }) };
  const on = path === undefined && host !== undefined ? `${host}: ` : "";
  if (passphrase === undefined) {
    throw new VhdError("ERROR_INVALID_PASSWORD", `${on}the private key is encrypted and no passphrase was given: ${howToGive}`, where);
  }
  if (parseKey(keyText, passphrase) instanceof Error) {
    throw new VhdError("ERROR_INVALID_PASSWORD", `${on}the passphrase given does not open the private key: ${howToGive}`, where);
  }
}
