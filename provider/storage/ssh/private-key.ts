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

/** True when `keyText` is an encrypted private key (one that ssh2 cannot read without a passphrase). */
export function isEncryptedKey(keyText: string): boolean {
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
