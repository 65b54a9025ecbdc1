import type { Command } from "commander";
import { VhdError, isVhdError } from "../../errors";
import { throwIfCancelled } from "../../support/cancellation";
import { writeDisk } from "../../disk/formats";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { printFields, printJson } from "../output";
import { formatByteCount, parseSize } from "../sizes";
import { stdinChunks } from "../stdin-chunks";

/** Bytes of stdin per `writeAt` call: whole 2 MiB blocks of the default block size, a few fsyncs per GiB. */
const WRITE_PIECE_SIZE = 8 * 1024 * 1024;

interface WriteOptions extends CommonOptions {
  offset: string;
}

/**
 * A later piece that runs past the end of the disk is named by the input as the user gave it (its length so far, at
 * the offset given), not by the piece, and says what was written, as `dd` does.
 */
function inputPastTheEnd(error: unknown, path: string, offset: number, bytesWritten: number, pieceLength: number): unknown {
  if (!isVhdError(error) || error.code !== "E_INVALIDARG" || error.parameter !== "length") return error;
  const length = bytesWritten + pieceLength;
  return new VhdError(
    "E_INVALIDARG",
    `${length} bytes of input (or more) at offset ${offset} run past the end of the ` +
      `${String(error.details["virtualSize"])}-byte disk; the first ${bytesWritten} bytes were written, the rest were not`,
    { parameter: "length", value: length, path, pathParameter: "path", details: { ...error.details, offset, bytesWritten } },
  );
}

/**
 * `vhd write <path> --offset N < data`: writes stdin into the disk at virtual byte N (fixed, dynamic or
 * differencing; a differencing disk's parent is never touched). The input goes in pieces: if it runs past the end of
 * the disk, or the command is cancelled, the pieces before stay written and the disk stays consistent, as with `dd`.
 */
export function registerWrite(program: Command): void {
  withCommonOptions(program.command("write"))
    .description("write stdin into a VHD or VHDX at a virtual offset (blocks allocated as needed; the parent is never changed)")
    .argument("<path>", "the VHD or VHDX file to write into")
    .requiredOption("--offset <bytes>", "virtual byte offset to write at (0, 512, 1MiB, ...)")
    .action((path: string, options: WriteOptions) =>
      runCommand(options, async ({ json, signal, locateOne, named }) => {
        const offset = parseSize(options.offset, "offset", { allowZero: true, file: { path, parameter: "path" } });
        const { storage, path: hostPath } = await locateOne(path, "path");
        let bytesWritten = 0;
        let blocksAllocated = 0;
        let fileSize: number | undefined;
        for await (const piece of stdinChunks(WRITE_PIECE_SIZE, signal)) {
          throwIfCancelled(signal, { parameter: "path", path: hostPath });
          const result = await writeDisk(hostPath, offset + bytesWritten, piece, { signal, storage }).catch((error: unknown) => {
            throw bytesWritten > 0 ? inputPastTheEnd(error, hostPath, offset, bytesWritten, piece.length) : error;
          });
          bytesWritten += result.bytesWritten;
          blocksAllocated += result.blocksAllocated;
          fileSize = result.fileSize;
        }
        // Empty input still checks the disk and the offset, so a typo in the path is not a silent success.
        if (fileSize === undefined) ({ fileSize } = await writeDisk(hostPath, offset, new Uint8Array(0), { signal, storage }));
        const summary = named({ path: hostPath, offset, bytesWritten, blocksAllocated, fileSize });
        if (json) printJson(summary);
        else {
          printFields([
            ["image", summary.path],
            ["offset", formatByteCount(offset)],
            ["bytes written", formatByteCount(bytesWritten)],
            ["blocks allocated", blocksAllocated],
            ["file size", formatByteCount(fileSize)],
          ]);
        }
      }),
    );
}
