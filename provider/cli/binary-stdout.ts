import { VhdError } from "../errors";
import { vhdErrorFromFs } from "../storage/local/fs-error";

/** Where `vhd read` sends disk bytes. */
export interface BinarySink {
  /**
   * Writes `bytes` and resolves once stdout has taken them (so the caller may reuse the buffer, and a slow reader
   * slows us down instead of filling memory). Resolves `false` when the reader has gone away (EPIPE, e.g.
   * `vhd read x.vhd | head -c 512`): the caller stops, as a Unix tool killed by SIGPIPE would, but exits 0.
   */
  write(bytes: Uint8Array): Promise<boolean>;
}

/**
 * Opens stdout for raw disk bytes. Refuses a terminal unless `force`, as gzip does: megabytes of binary on a screen
 * help no one and can leave the terminal in a strange state.
 *
 * @throws VhdError `E_INVALIDARG` when stdout is a terminal and `force` is not set.
 */
export function openBinaryStdout(force: boolean): BinarySink {
  const stdout = process.stdout;
  if (stdout.isTTY && !force) {
    throw new VhdError(
      "E_INVALIDARG",
      "refusing to write binary disk bytes to a terminal; redirect stdout (> out.raw, | command) or pass --force",
      { parameter: "stdout" },
    );
  }
  let readerGone = false;
  // Without a listener an EPIPE 'error' event would crash the process; the write callback below reports it.
  stdout.on("error", () => undefined);
  return {
    write: (bytes) =>
      new Promise<boolean>((resolve, reject) => {
        if (readerGone) return resolve(false);
        stdout.write(bytes, (error) => {
          if (!error) return resolve(true);
          // Any other failure (ENOSPC of /dev/full or a full disk behind a device, EIO) as the error table names it.
          if ((error as NodeJS.ErrnoException).code !== "EPIPE") return reject(vhdErrorFromFs(error, { parameter: "stdout", action: "write to stdout" }));
          readerGone = true;
          resolve(false);
        });
      }),
  };
}
