import type { Command } from "commander";
import { throwIfCancelled } from "../../support/cancellation";
import { namingStdoutFile, openStdoutAsEmptyFile } from "../stdout-file";
import { openChain } from "../../disk/chain";
import { openBinaryStdout } from "../binary-stdout";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { parseSize } from "../sizes";

interface ReadOptions extends CommonOptions {
  offset?: string;
  length?: string;
  force?: boolean;
}

/**
 * `vhd read <path> [--offset N] [--length N] > out.raw`: the virtual disk's bytes as the guest sees them, composed
 * through the whole chain, on stdout. `--json` changes only how errors are printed: stdout carries the bytes.
 */
export function registerRead(program: Command): void {
  withCommonOptions(program.command("read"))
    .description("write the virtual disk's bytes, composed through its chain, to stdout (e.g. > out.raw)")
    .argument("<path>", "the VHD or VHDX file")
    .option("--offset <bytes>", "first virtual byte to read (512, 1MiB, ...)", "0")
    .option("--length <bytes>", "how many bytes (default: to the end of the disk)")
    .option("-f, --force", "write binary even when stdout is a terminal")
    .action((path: string, options: ReadOptions) =>
      runCommand(options, async ({ signal, progress, locateOne }) => {
        const file = { path, parameter: "path" };
        const offset = parseSize(options.offset ?? "0", "offset", { allowZero: true, file });
        const requestedLength =
          options.length === undefined ? undefined : parseSize(options.length, "length", { allowZero: true, file });
        const sink = openBinaryStdout(options.force === true);
        const { storage, path: hostPath } = await locateOne(path, "path");
        const chain = await openChain(hostPath, { parameter: "path", storage });
        const stdoutFile = await openStdoutAsEmptyFile();
        const bar = progress("read");
        try {
          const length = requestedLength ?? Math.max(0, chain.virtualSize - offset);
          const report = (bytesDone: number): void => bar.update({ bytesDone, bytesTotal: length });
          if (stdoutFile !== undefined) {
            // `> out.raw`: data written at its offsets, zero stretches left as holes, as qemu-img convert does.
            await chain.copyToFile(stdoutFile, { offset, length, signal, onProgress: report }).catch((error: unknown) => {
              throw namingStdoutFile(error);
            });
          } else {
            // A pipe: every byte in order; the next chunk is read while this one is written out.
            for await (const chunk of chain.chunks({ offset, length })) {
              if (!(await sink.write(chunk.bytes))) break;
              throwIfCancelled(signal, { parameter: "path", path: hostPath });
              report(chunk.offset - offset + chunk.bytes.length);
            }
          }
        } finally {
          bar.stop();
          await Promise.all([chain.close(), stdoutFile?.close()]);
        }
      }),
    );
}
