import type { Command } from "commander";
import { throwIfCancelled } from "../../support/cancellation";
import { openStdoutAsEmptyFile } from "../stdout-file";
import { openChain, type DiskChain } from "../../vhd/chain";
import { openBinaryStdout, type BinarySink } from "../binary-stdout";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { parseSize } from "../sizes";
import { localStorage } from "../../storage/local/local-storage";

/** Bytes per read: one pread covers several blocks, and two pieces are all the memory a read of any size takes. */
const READ_PIECE_SIZE = 8 * 1024 * 1024;

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
    .argument("<path>", "the VHD file")
    .option("--offset <bytes>", "first virtual byte to read (512, 1MiB, ...)", "0")
    .option("--length <bytes>", "how many bytes (default: to the end of the disk)")
    .option("-f, --force", "write binary even when stdout is a terminal")
    .action((path: string, options: ReadOptions) =>
      runCommand(options, async ({ signal, progress }) => {
        const file = { path, parameter: "path" };
        const offset = parseSize(options.offset ?? "0", "offset", { allowZero: true, file });
        const requestedLength =
          options.length === undefined ? undefined : parseSize(options.length, "length", { allowZero: true, file });
        const sink = openBinaryStdout(options.force === true);
        const chain = await openChain(path, { parameter: "path", storage: localStorage });
        const stdoutFile = await openStdoutAsEmptyFile();
        const bar = progress("read");
        try {
          const length = requestedLength ?? Math.max(0, chain.virtualSize - offset);
          const report = (bytesDone: number): void => bar.update({ bytesDone, bytesTotal: length });
          if (stdoutFile !== undefined) {
            // `> out.raw`: data written at its offsets, zero stretches left as holes, as qemu-img convert does.
            await chain.copyToFile(stdoutFile, { offset, length, signal, onProgress: report });
          } else {
            await copyRange(chain, offset, length, sink, (bytesDone) => {
              throwIfCancelled(signal, { parameter: "path", path });
              report(bytesDone);
            });
          }
        } finally {
          bar.stop();
          await Promise.all([chain.close(), stdoutFile?.close()]);
        }
      }),
    );
}

/**
 * Copies `length` virtual bytes from `offset` to `sink` with two buffers: the next piece is read (in the thread pool)
 * while this one is written out. The first read happens even for an empty range, so a range outside the disk is
 * refused (`E_INVALIDARG`) rather than silently empty. `afterPiece` runs after each piece and may throw to stop.
 */
async function copyRange(
  chain: DiskChain,
  offset: number,
  length: number,
  sink: BinarySink,
  afterPiece: (bytesDone: number) => void,
): Promise<void> {
  const buffers = [new Uint8Array(READ_PIECE_SIZE), new Uint8Array(READ_PIECE_SIZE)] as const;
  const readPiece = (start: number, index: 0 | 1): Promise<Uint8Array> => {
    const size = Math.min(READ_PIECE_SIZE, length - start);
    return chain.read(offset + start, size, buffers[index].subarray(0, size));
  };
  let pending: Promise<Uint8Array> | undefined = readPiece(0, 0);
  try {
    for (let bytesDone = 0, next: 0 | 1 = 1; pending !== undefined; next = next === 0 ? 1 : 0) {
      const piece: Uint8Array = await pending;
      const nextStart = bytesDone + piece.length;
      pending = nextStart < length ? readPiece(nextStart, next) : undefined;
      if (!(await sink.write(piece))) return;
      bytesDone = nextStart;
      afterPiece(bytesDone);
    }
  } finally {
    // A read may still be in flight (reader gone, cancelled): let it end before the caller closes the files.
    await pending?.catch(() => undefined);
  }
}
