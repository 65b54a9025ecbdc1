/**
 * The sector-size rule every driver's `checkSectorSizes` applies (disk/driver.ts): each size requested must be one
 * the format has, and a size not requested is the format's default.
 */
import { VhdError } from "../errors";
import type { RequestedSectorSizes, SectorSizes } from "./driver";

/** What a format allows: the sizes (bytes) each sector size may take, its defaults, and what to say otherwise. */
export interface SectorSizeRule {
  allowed: readonly number[];
  defaults: SectorSizes;
  /** Why, and what to do instead, after "a <format> ... sector is <allowed> bytes". */
  advice: string;
  format: string;
}

/**
 * The sector sizes of a new disk at `path` under `rule`.
 * @throws `E_INVALIDARG` (parameter `logicalSectorSize` or `physicalSectorSize`, with its value; path as `path`).
 */
export function checkSectorSizes(requested: RequestedSectorSizes, path: string, rule: SectorSizeRule): SectorSizes {
  const chosen = { ...rule.defaults };
  for (const name of ["logicalSectorSize", "physicalSectorSize"] as const) {
    const size = requested[name];
    if (size === undefined) continue;
    if (!rule.allowed.includes(size)) {
      const kind = name === "logicalSectorSize" ? "logical" : "physical";
      throw new VhdError("E_INVALIDARG", `a ${rule.format} ${kind} sector is ${rule.allowed.join(" or ")} bytes, not ${size}; ${rule.advice}`, {
        parameter: name,
        value: size,
        path,
        pathParameter: "path",
      });
    }
    chosen[name] = size;
  }
  return chosen;
}
