/**
 * The sweep of an interrupted create's leftovers (storage/atomic-create.ts): the next create of the same target
 * removes temporary files whose creator process is gone or that went unwritten for a minute, and nothing else.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileAtomically } from "../../provider/storage/atomic-create";
import { localStorage } from "../../provider/storage/local/local-storage";

const machine = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
/** A process id that was this machine's and is gone: a child that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", "0"]).pid;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vhd-sweep-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("createFileAtomically sweeps what an interrupted create of the same target left", () => {
  it("removes leftovers of a gone process and old ones; keeps a live creator's, other targets' and unrelated files", async () => {
    const gone = `.a.vhd.0123456789ab.${machine}-${deadPid()}.tmp`;
    const live = `.a.vhd.abcdef012345.${machine}-${process.pid}.tmp`;
    const old = ".a.vhd.00112233aabb.tmp";
    const fresh = ".a.vhd.99887766ccdd.tmp";
    const otherTarget = `.b.vhd.0123456789ab.${machine}-${deadPid()}.tmp`;
    const unrelated = ".a.vhd.notours.tmp";
    for (const name of [gone, live, old, fresh, otherTarget, unrelated]) writeFileSync(join(dir, name), "x");
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    utimesSync(join(dir, old), twoMinutesAgo, twoMinutesAgo);

    await createFileAtomically(join(dir, "a.vhd"), async (file) => file.write(0, new Uint8Array([1])), { storage: localStorage });

    expect(readdirSync(dir).sort()).toEqual(["a.vhd", live, fresh, otherTarget, unrelated].sort());
  });
});
