/** `vhd inspect --parent-facts`: the parent facts a DifferencingDisk records, from the same operation. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CHECKSUM_CACHE_ENV } from "../../provider/sha256/checksum-cache";
import type { RecordedParentFacts } from "../../provider/cli/disk-description";
import * as provider from "../../provider/resource/provider";
import type { DiskInputs, DiskState } from "../../provider/resource/state";
import { makeTempDir, runVhdOk } from "./cli-process";

describe("vhd inspect --parent-facts", () => {
  const temp = makeTempDir("inspect-parent-facts");
  const golden = join(temp.dir, "golden.vhd");
  const middle = join(temp.dir, "middle.vhd");
  const child = join(temp.dir, "child.vhd");
  // The checksum cache of this test alone, for the provider here and the CLI it runs (which inherits the environment).
  beforeAll(() => vi.stubEnv(CHECKSUM_CACHE_ENV, join(temp.dir, "cache")));
  afterAll(() => {
    vi.unstubAllEnvs();
    temp.remove();
  });

  it("shows what the resource records of a child's parent and ancestors, and nothing for a base disk", async () => {
    await runVhdOk(["create", golden, "--size", "4MiB"]);
    await runVhdOk(["write", golden, "--offset", "0"], { input: Buffer.alloc(64 * 1024, 0x5a) });
    await runVhdOk(["create-differencing", middle, golden]);
    const check = await provider.check({}, { imagePath: child, parentPath: middle, pathRules: "posix" });
    expect(check.failures ?? []).toEqual([]);
    const state = (await provider.create(check.inputs as DiskInputs)).outs as DiskState;

    const shown = JSON.parse((await runVhdOk(["inspect", child, "--parent-facts", "--json"])).text) as { parentFacts: RecordedParentFacts };
    const { parentPath, parentUniqueId, parentDiskType, parentSize, parentFingerprint, parentChecksum, ancestors } = state;
    expect(shown.parentFacts).toEqual({ parentPath, parentUniqueId, parentDiskType, parentSize, parentFingerprint, parentChecksum, ancestors });
    expect(shown.parentFacts.parentChecksum).toMatch(/^sha256-unlinked:/);
    const goldenSha = createHash("sha256").update(readFileSync(golden)).digest("hex");
    expect(shown.parentFacts.ancestors?.[golden]?.checksum).toBe(goldenSha);

    const text = (await runVhdOk(["inspect", child, "--parent-facts"])).text;
    expect(text).toMatch(new RegExp(`^recorded parent unique id: +${parentUniqueId}$`, "m"));
    expect(text).toMatch(new RegExp(`^recorded ancestor: +${golden} \\(`, "m"));
    expect(JSON.parse((await runVhdOk(["inspect", golden, "--parent-facts", "--json"])).text)).not.toHaveProperty("parentFacts");
  });
});
