import type { Command } from "commander";
import { recordFoundDisk } from "../../ops/manage-disk";
import { inspectDisk } from "../../disk/inspect";
import { unlessCancelled } from "../signals";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { type RecordedParentFacts, printDisk } from "../disk-description";

interface InspectOptions extends CommonOptions {
  parentFacts?: boolean;
}

/**
 * `vhd inspect <path>`: what a VHD or VHDX says about itself and its chain, like `qemu-img info`. With `--parent-facts`, a
 * differencing disk's parent as a `DifferencingDisk` records it (ops/manage-disk.ts `recordFoundDisk`): unique id,
 * type, size, fingerprint, checksum (recalled from the checksum cache when the fingerprint is unchanged) and ancestors.
 */
export function registerInspect(program: Command): void {
  withCommonOptions(program.command("inspect"))
    .description("show a VHD's or VHDX's format, type, sizes, identity (a VHDX's Virtual Disk ID too), VHD geometry, and for a differencing disk its parent and chain")
    .argument("<path>", "the VHD or VHDX file")
    .option("--parent-facts", "also the parent facts a DifferencingDisk records (checksum, fingerprint, ancestors)")
    .action((path: string, options: InspectOptions) =>
      runCommand(options, async ({ json, signal, locateOne, named }) => {
        const { storage, path: hostPath } = await locateOne(path, "path");
        const info = await unlessCancelled(inspectDisk(hostPath, { parameter: "path", storage }), signal);
        const recorded = options.parentFacts === true && info.type === "differencing";
        const parentFacts = recorded ? parentRecordOf(await unlessCancelled(recordFoundDisk(info, storage), signal)) : undefined;
        printDisk(named(info), json, named(parentFacts));
      }),
    );
}

/** The parent's part of a disk record. */
function parentRecordOf(record: RecordedParentFacts): RecordedParentFacts {
  const { parentPath, parentUniqueId, parentDiskType, parentSize, parentFingerprint, parentChecksum, ancestors } = record;
  return { parentPath, parentUniqueId, parentDiskType, parentSize, parentFingerprint, parentChecksum, ancestors };
}
