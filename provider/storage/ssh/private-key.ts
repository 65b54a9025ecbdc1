/**
 * A private key checked before it is used: whether it is encrypted, and whether a passphrase opens it, so that a
 * wrong or missing passphrase is reported naming the key file (`ERROR_INVALID_PASSWORD`) rather than as a refused
 * logon on the host. OpenSSH-format and PEM keys, as ssh2 reads them.
 */
import type { ParsedKey } from "ssh2";
import { VhdError, type ErrorParameter } from "../../errors";

/** ssh2's key parser, loaded when a key is given: ssh2 is about 30 modules a local `vhd` command never needs. */
function parseKey(keyText: string, passphrase?: string): ParsedKey | ParsedKey[] | Error {
  const { utils } = require("ssh2") as typeof import("ssh2");
  return utils.parseKey(keyText, passphrase);
}

/** Where a key came from, for errors: the input and the key file. */
export interface KeySource {
  parameter: ErrorParameter;
  path: string;
}

/**
 * True when the key's own text says it is not encrypted, read without loading ssh2 (whose load the dial would then
 * wait for, session-pool.ts): an OpenSSH-format key whose cipher is `none` (OpenSSH PROTOCOL.key: the magic
 * `openssh-key-v1\0`, then the cipher's name as an SSH string), or a PEM key with no `ENCRYPTED` in it (RFC 1421's
 * `Proc-Type: 4,ENCRYPTED`, PKCS #8's `ENCRYPTED PRIVATE KEY`). Anything else is left to ssh2's parser.
 */
function plainlyUnencrypted(keyText: string): boolean {
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(keyText);
  if (openssh === null) return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyText) && !keyText.includes("ENCRYPTED");
  const body = Buffer.from(openssh[1] ?? "", "base64");
  const magic = Buffer.from("openssh-key-v1\0", "latin1");
  if (body.length < magic.length + 4 || !body.subarray(0, magic.length).equals(magic)) return false;
  const cipherLength = body.readUInt32BE(magic.length);
  return body.toString("latin1", magic.length + 4, magic.length + 4 + cipherLength) === "none";
}

/** True when `keyText` is an encrypted private key (one that ssh2 cannot read without a passphrase). */
export function isEncryptedKey(keyText: string): boolean {
  if (plainlyUnencrypted(keyText)) return false;
  const parsed = parseKey(keyText);
  return parsed instanceof Error && /no passphrase given/i.test(parsed.message);
}

/**
 * Checks that `passphrase` opens the encrypted `keyText`. The passphrase is never put in the error.
 * @throws `ERROR_INVALID_PASSWORD` naming the key file when no passphrase is given or it does not open the key.
 */
export function checkKeyPassphrase(
  keyText: string,
  passphrase: string | undefined,
  source: KeySource & { howToGive: string },
): asserts passphrase is string {
  const { parameter, path, howToGive } = source;
  if (passphrase === undefined) {
    throw new VhdError("ERROR_INVALID_PASSWORD", `the private key is encrypted and no passphrase was given: ${howToGive}`, { parameter, path });
  }
  if (parseKey(keyText, passphrase) instanceof Error) {
    throw new VhdError("ERROR_INVALID_PASSWORD", `the passphrase given does not open the private key: ${howToGive}`, { parameter, path });
  }
}
