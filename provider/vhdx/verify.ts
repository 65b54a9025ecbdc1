/**
 * `verify` for a VHDX (MS-VHDX v1): what the reader accepted, spelled out as checks (both headers and both region
 * tables with their CRC-32C, §2.2.2-§2.2.3; the metadata items, §2.6; every BAT entry inside the file, §2.5; the log
 * state, §2.3), then the chain for a differencing disk, and that no ancestor has a live log. Never throws for a damaged file: the damage is a failed check.
 */
import { openChain } from "../disk/chain";
import { localStorage } from "../storage/local/local-storage";
import { chainCheck, fact, type VerifyCheck, type VerifyReport } from "../vhd/verify";
import { errorInfo, type InspectOptions } from "../disk/disk-info";
import {
  HEADER_LAYOUT,
  HEADER_OFFSETS,
  REGION_TABLE_OFFSETS,
  REGION_TABLE_SIZE,
  decodeHeader,
  decodeRegionTable,
} from "./format";
import { LIVE_LOG_CONSEQUENCE, openVhdx, VhdxImage } from "./reader";

/** Both copies of the header and of the region table: each with its signature and CRC-32C. */
async function copyChecks(image: VhdxImage): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [];
  for (const [slot, offset] of HEADER_OFFSETS.entries()) {
    const header = decodeHeader(await image.file.read(offset, HEADER_LAYOUT.size));
    const current = slot === image.headerSlot ? " (current)" : "";
    checks.push(fact(`header ${slot + 1}${current}: signature and CRC-32C`, header.signatureValid && header.checksumValid, "valid", "damaged (the other copy is used)"));
  }
  for (const [slot, offset] of REGION_TABLE_OFFSETS.entries()) {
    const table = decodeRegionTable(await image.file.read(offset, REGION_TABLE_SIZE));
    checks.push(fact(`region table ${slot + 1}: signature and CRC-32C`, table.signatureValid && table.checksumValid, "valid", "damaged"));
  }
  return checks;
}

/**
 * No ancestor of the disk at `path` has a live log. The chain reads (the log is replayed in memory), but the first
 * writer to open that ancestor (Hyper-V, qemu read-write) replays the log into the file and renews its DataWriteGuid
 * (§2.3.3, §2.2.2): the child's `parent_linkage` then names nothing and the child is orphaned. A failed check, as the
 * disk's own live log is. Run only once the chain opened (`chainCheck`).
 */
async function ancestorLogCheck(path: string, options: InspectOptions): Promise<VerifyCheck> {
  const chain = await openChain(path, options);
  try {
    const logged = chain.images.slice(1).filter((image) => image instanceof VhdxImage && image.hasLiveLog);
    return fact(
      "ancestors: no live log",
      logged.length === 0,
      "every ancestor's log is empty",
      `${logged.map((image) => image.path).join(", ")} ${logged.length === 1 ? "has" : "have"} a live log: ${LIVE_LOG_CONSEQUENCE}. ` +
        "Replay it now (qemu-img check -r all on the ancestor), then relink the child to its new DataWriteGuid " +
        "(Set-VHD -IgnoreIdMismatch), or rebuild the child",
    );
  } finally {
    await chain.close();
  }
}

/**
 * Verifies the VHDX at `path`.
 * @returns the report; `ok` only when every check holds.
 */
export async function verifyVhdx(path: string, options: InspectOptions = {}): Promise<VerifyReport> {
  const notes: string[] = [];
  const storage = options.storage ?? localStorage;
  let image: VhdxImage;
  try {
    const file = await storage.open(path, { parameter: options.parameter ?? "path" });
    image = await openVhdx(file).catch(async (error: unknown) => {
      await file.close();
      throw error;
    });
  } catch (error) {
    return { path, ok: false, checks: [{ name: "opens as a VHDX", ok: false, detail: errorInfo(error, storage).message }], notes };
  }
  const checks: VerifyCheck[] = [];
  try {
    checks.push(fact("opens as a VHDX", true, `${image.kind} disk, ${image.virtualSize} bytes, ${image.blockSize}-byte blocks`, ""));
    checks.push(...(await copyChecks(image)));
    checks.push(fact("metadata: every required item, sizes and sector sizes valid", true, `${image.logicalSectorSize}-byte logical, ${image.physicalSectorSize}-byte physical sectors`, ""));
    checks.push(fact("BAT: every entry's block inside the file", true, `${image.file.size}-byte file`, ""));
    const liveLog = image.hasLiveLog;
    checks.push(fact("log: empty", !liveLog, "no log entries to replay", `a live log (${image.replayedLog.length} entries replayed in memory); open the disk in Hyper-V or run qemu-img check -r all to replay it`));
    if (image.kind === "differencing") {
      const chain = await chainCheck(path, options, notes);
      checks.push(chain);
      if (chain.ok) checks.push(await ancestorLogCheck(path, options));
    }
  } finally {
    await image.close();
  }
  return { path, ok: checks.every((check) => check.ok), checks, notes };
}
