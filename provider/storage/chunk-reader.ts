/** Reading a whole file in fixed-size chunks through the port (a raw image being imported). */
import type { ErrorParameter } from "../errors";
import { throwIfCancelled } from "../support/cancellation";
import type { ProgressCallback } from "../support/progress";
import type { Storage } from "./port";

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

/**
 * Opens `path` on `storage` to be read in `chunkSize` pieces.
 * @throws the storage's open errors, naming `parameter`.
 */
export async function openChunkedFile(
  storage: Storage,
  path: string,
  chunkSize: number,
  options: ReadChunksOptions = {},
): Promise<ChunkedFile> {
  const context = { parameter: options.parameter, path };
  const file = await storage.open(path, { parameter: options.parameter });
  const { size } = file;
  async function* chunks(): AsyncGenerator<FileChunk> {
    const data = Buffer.alloc(chunkSize);
    for (let offset = 0; offset < size; offset += chunkSize) {
      throwIfCancelled(options.signal, context);
      // Past the end of the file the read fills zeros, as a chunk must be whole.
      await file.read(offset, chunkSize, data);
      yield { offset, data };
      options.onProgress?.({ bytesDone: Math.min(offset + chunkSize, size), bytesTotal: size });
    }
  }
  return { size, chunks, close: () => file.close() };
}
