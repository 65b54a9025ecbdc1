/**
 * Merging the top of a chain into an ancestor (`Merge-VHD -Path child -DestinationPath ancestor`, `qemu-img commit`):
 * every sector the child or a disk between it and the ancestor holds is written into the ancestor, with the value
 * the child shows there. Afterwards the ancestor reads exactly as the child did.
 *
 * Why an interruption is harmless: the sectors written into the ancestor are still covered, in the chain read through
 * the child, by the child or an intermediate disk holding the same bytes, and each write into the ancestor is
 * crash-ordered by its format's block writer. The ancestor's driver readies it first (`prepareMerge`) so that the
 * disk above keeps linking to it across the writes (a VHDX renews its DataWriteGuid when written). So the child
 * reads the same at every moment, and running the merge again rewrites the same bytes. (Other disks that use the ancestor as their parent do see it change: the ops layer refuses
 * the merge while there are any.)
 */
import { VhdError } from "../errors";
import { throwIfCancelled } from "../support/cancellation";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import type { DiskChain } from "./chain";
import type { MergeWrite } from "./driver";
import { DRIVERS } from "./formats";

/** Bytes of the virtual disk looked at per step: one 2 MiB block, the default of a VHD and of a VHDX child. */
const MERGE_WINDOW = 2 * 1024 * 1024;
/** Writes are widened to whole 4 KiB units (one bitmap byte), as the block writer would widen them anyway. */
const WRITE_UNIT = 4096;

/** Options of {@link mergeIntoAncestor}. */
export interface MergeOptions {
  /** Stops between windows with `VM_E_APP_SHUTTING_DOWN`; what was merged so far stays merged (harmless, see above). */
  signal?: AbortSignal;
  /** Called after each window with the virtual bytes looked at so far, of `chain.virtualSize`. */
  onProgress?: (bytesDone: number) => void;
  /** Where the chain's disks are (default: this machine). */
  storage?: Storage;
}

/** What {@link mergeIntoAncestor} wrote. */
export interface MergeResult {
  /** Virtual bytes written into the ancestor (the held ranges, widened to 4 KiB). */
  bytesWritten: number;
}

/**
 * Writes into `chain.images[depth]` every sector that `chain.images[0..depth-1]` hold, as the leaf reads it. The
 * chain stays open and readable; the disks above the ancestor are not changed (deleting them is the caller's step).
 *
 * @throws `E_INVALIDARG` when `depth` does not name an ancestor; read errors; the driver's `prepareMerge` errors;
 *   the block writer's errors for the ancestor (`ERROR_ACCESS_DENIED` for a read-only one, `ERROR_DISK_FULL`, ...);
 *   `VM_E_APP_SHUTTING_DOWN`.
 */
export async function mergeIntoAncestor(chain: DiskChain, depth: number, options: MergeOptions = {}): Promise<MergeResult> {
  const target = chain.images[depth];
  if (depth < 1 || target === undefined) {
    throw new VhdError("E_INVALIDARG", `depth ${depth} is not an ancestor in this chain of ${chain.images.length} disks`, {
      parameter: "destinationPath",
      path: chain.leaf.path,
    });
  }
  const driver = DRIVERS.find((candidate) => candidate.format === target.format);
  if (driver === undefined) throw new Error(`no driver for the ${target.format} disk the chain opened`);
  const { signal, storage = localStorage } = options;
  const size = chain.virtualSize;
  let bytesWritten = 0;
  // Readied before the first write only: a merge with nothing to write changes nothing.
  let write: MergeWrite | undefined;
  let writing = false;
  try {
    for (let window = 0; window < size; window += MERGE_WINDOW) {
      throwIfCancelled(options.signal, { parameter: "imagePath", path: chain.leaf.path });
      const held = await chain.rangesHeldAbove(depth, window, Math.min(MERGE_WINDOW, size - window));
      const first = held[0];
      const last = held[held.length - 1];
      if (first !== undefined && last !== undefined) {
        // One write per window: the gaps between held ranges read the same through the leaf as in the ancestor.
        const start = Math.floor(first.offset / WRITE_UNIT) * WRITE_UNIT;
        const end = Math.min(Math.ceil((last.offset + last.length) / WRITE_UNIT) * WRITE_UNIT, size);
        const bytes = await chain.read(start, end - start);
        write ??= await driver.prepareMerge(chain, depth, { storage, ...(signal && { signal }) });
        writing = true;
        await write(start, bytes);
        bytesWritten += end - start;
      }
      options.onProgress?.(Math.min(window + MERGE_WINDOW, size));
    }
  } catch (error) {
    // The generic cancel says "nothing was kept"; here the ancestor has changed, and saying so keeps anyone from
    // taking it for the disk it was (e.g. making new children of a half-merged golden image).
    if (writing && error instanceof VhdError && error.code === "VM_E_APP_SHUTTING_DOWN") {
      throw new VhdError(
        "VM_E_APP_SHUTTING_DOWN",
        `the merge was cancelled part way: ${target.path} already holds some of the merged sectors ` +
          `(${bytesWritten} bytes or more) and no longer reads as it did, while ${chain.leaf.path} still reads as before; ` +
          "run the merge again to finish it",
        { parameter: "imagePath", path: chain.leaf.path, details: { destinationPath: target.path, bytesWritten }, cause: error.cause },
      );
    }
    throw error;
  }
  return { bytesWritten };
}
