import { addAbortSignal } from "node:stream";

/**
 * stdin in pieces of exactly `size` bytes (the last may be shorter), however the pipe delivers it (typically 64 KiB
 * at a time): `vhd write` hands each piece to one `writeAt` call, so big pieces mean few opens and fsyncs, and
 * memory stays at one piece whatever the input's length. `signal` ends the wait for input (Ctrl-C while a slow
 * producer writes nothing).
 */
export async function* stdinChunks(size: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  addAbortSignal(signal, process.stdin);
  let piece = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const received of process.stdin as AsyncIterable<Buffer>) {
    for (let used = 0; used < received.length; ) {
      const taken = received.copy(piece, filled, used);
      used += taken;
      filled += taken;
      if (filled === size) {
        yield piece;
        // The consumer may still hold the piece it was given, so the next one gets its own buffer.
        piece = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield piece.subarray(0, filled);
}
