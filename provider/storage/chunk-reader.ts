import { open, type FileHandle } from "node:fs/promises";
import type { ErrorParameter } from "../errors";
import { throwIfCancelled } from "../support/cancellation";
import { vhdErrorFromFs } from "./local/fs-error";
import type { ProgressCallback } from "../support/progress";

/** One chunk of a file. `data` is reused for the next chunk: use it before asking for the next one. */
export interface FileChunk {
  /** Offset of the chunk in the file (a multiple of the chunk size). */
  offset: number;
  /** Exactly the chunk size; the bytes past the end of the file read as zeros. */
  data: Buffer;
}

/** Options of {@link readChunks}. */
export interface ReadChunksOptions {
  /** The input the path came from, for errors (e.g. `fromRaw`). */
  parameter?: ErrorParameter;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** A file opened for reading in chunks. */
export interface ChunkedFile {
  /** The file's size when opened. */
  size: number;
  /** The chunks in order, through one reused buffer; stops with `VM_E_APP_SHUTTING_DOWN` on cancel. */
  chunks(): AsyncGenerator<FileChunk>;
  close(): Promise<void>;
}

/** Opens `path` to be read in `chunkSize` pieces (a raw image being imported). */
export async function openChunkedFile(path: string, chunkSize: number, options: ReadChunksOptions = {}): Promise<ChunkedFile> {
  const context = { parameter: options.parameter, path };
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw vhdErrorFromFs(error, { ...context, action: "open the file" });
  }
  const size = await handle.stat().then(
    (stats) => stats.size,
    async (error: unknown) => {
      await handle.close();
      throw vhdErrorFromFs(error, { ...context, action: "examine the file" });
    },
  );
  async function* chunks(): AsyncGenerator<FileChunk> {
    const data = Buffer.alloc(chunkSize);
    for (let offset = 0; offset < size; offset += chunkSize) {
      throwIfCancelled(options.signal, context);
      let filled = 0;
      while (filled < chunkSize) {
        const { bytesRead } = await handle.read(data, filled, chunkSize - filled, offset + filled).catch((error: unknown) => {
          throw vhdErrorFromFs(error, { ...context, action: `read at offset ${offset + filled}` });
        });
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      data.fill(0, filled);
      yield { offset, data };
      options.onProgress?.({ bytesDone: Math.min(offset + chunkSize, size), bytesTotal: size });
    }
  }
  return { size, chunks, close: () => handle.close() };
}
