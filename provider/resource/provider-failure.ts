/**
 * How a provider method fails so that the stack's diagnostics show one clean line.
 *
 * The dynamic-provider server (`@pulumi/pulumi/cmd/dynamic-provider`) answers a failed `check`, `diff`, `read` or
 * `delete` by printing `${error}: ${error.stack}` on the provider's stderr, which the engine shows in the stack's
 * diagnostics, stack frames and all; `create` and `update` send only the message. A {@link ProviderFailure} prints as
 * `pulumi-vhd: <the VhdError's message>` there, and its message is the VhdError's, for the engine's error line.
 */
import { type VhdError, asVhdError } from "../errors";
import { errorOnHost } from "../storage/on-host";
import type { Storage } from "../storage/port";

/** A provider method's error: the VhdError's one-line message, with no stack frames. */
export class ProviderFailure extends Error {
  constructor(readonly error: VhdError) {
    super(error.message, { cause: error });
    this.name = "pulumi-vhd";
    // What the server prints after `${error}: `: the message, not frames into provider/ops.
    this.stack = error.message;
  }

  override toString(): string {
    return this.name;
  }
}

/**
 * Runs a provider method; anything it throws becomes a {@link ProviderFailure} (unexpected errors as
 * `DISP_E_EXCEPTION`). The method passes the storage it works on through `onStorage`, so that an error naming a bare
 * path on a remote host (from validation or the disk engine) names the host too (storage/on-host.ts).
 */
export async function reportingFailures<T>(method: (onStorage: (storage: Storage) => Storage) => Promise<T>): Promise<T> {
  let used: Storage | undefined;
  try {
    return await method((storage) => (used = storage));
  } catch (error) {
    throw error instanceof ProviderFailure ? error : new ProviderFailure(asVhdError(errorOnHost(error, used)));
  }
}
