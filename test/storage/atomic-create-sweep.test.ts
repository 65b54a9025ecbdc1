/**
 * The sweep of an interrupted create's leftovers (storage/atomic-create.ts, storage/temporary-names.ts): the next
 * create of the same target removes temporary files whose creator is known to be gone (same kernel boot and pid
 * namespace, pid not running) or that went unwritten for a minute, and nothing else: not the file of a live create
 * in another container or on another machine with the same host name, not a name outside the exact pattern, not a
 * link or a folder.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileAtomically } from "../../provider/storage/atomic-create";
import { localStorage } from "../../provider/storage/local/local-storage";
import { CREATOR_TAG } from "../../provider/storage/process-tag";
import { temporaryCreator, temporaryPathFor } from "../../provider/storage/temporary-names";
import { CLI_MAIN } from "../cli/cli-process";

/** A process id that was this machine's and is gone: a child that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", "0"]).pid;
/** The tag earlier versions wrote, and what another container or machine with our host name would write. */
const hostnameTag = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
const twoMinutesAgo = (): Date => new Date(Date.now() - 120_000);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vhd-sweep-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes each file (fresh), makes those in `old` two minutes old, runs one create of `a.vhd`, returns what is left. */
async function sweepAfter(fresh: string[], old: string[] = []): Promise<string[]> {
  for (const name of [...fresh, ...old]) writeFileSync(join(dir, name), "x");
  for (const name of old) utimesSync(join(dir, name), twoMinutesAgo(), twoMinutesAgo());
  await createFileAtomically(join(dir, "a.vhd"), async (file) => file.write(0, new Uint8Array([1])), { storage: localStorage });
  return readdirSync(dir).sort();
}

describe("temporary names", () => {
  it("name the target and this process, and read back only in the exact pattern", () => {
    const path = temporaryPathFor("/vms/web/os.vhd");
    expect(path).toMatch(new RegExp(`^/vms/web/\\.os\\.vhd\\.[0-9a-f]{12}\\.${CREATOR_TAG}-${process.pid}\\.tmp$`));
    expect(temporaryCreator(path.slice("/vms/web/".length), "os.vhd")).toEqual({ tag: CREATOR_TAG, pid: process.pid });
    for (const entry of [
      ".os.vhd.0123456789ab.tmp",
      ".os.vhd.0123456789ab.0123abcd-12.tmp.bak",
      ".os.vhd.0123456789AB.0123abcd-12.tmp",
      ".os.vhd.0123456789ab.0123abcd-0.tmp",
      ".os.vhd.0123456789ab.0123abcd--12.tmp",
      ".os.vhdx.0123456789ab.0123abcd-12.tmp",
      "os.vhd.0123456789ab.0123abcd-12.tmp",
    ]) {
      expect(temporaryCreator(entry, "os.vhd"), entry).toBeUndefined();
    }
  });
});

describe("createFileAtomically sweeps what an interrupted create of the same target left", () => {
  it("removes a leftover of a gone process of this boot and pid namespace at once; keeps a live one's", async () => {
    const gone = `.a.vhd.0123456789ab.${CREATOR_TAG}-${deadPid()}.tmp`;
    const mine = `.a.vhd.abcdef012345.${CREATOR_TAG}-${process.pid}.tmp`;
    // Alive until killed below, however long the machine takes to get there (a `sleep 30` could end first).
    const sleeper = spawn("sleep", ["infinity"]);
    try {
      const live = `.a.vhd.abcdef012346.${CREATOR_TAG}-${sleeper.pid}.tmp`;
      expect(await sweepAfter([gone, mine, live])).toEqual(["a.vhd", mine, live].sort());
    } finally {
      sleeper.kill();
    }
  });

  it("keeps a fresh leftover of another machine or container, whatever its pid, and removes it once a minute old", async () => {
    // Another container with our host name, whose creator's pid happens not to run here: it may be writing still.
    const sameHostName = `.a.vhd.0123456789ab.${hostnameTag}-${deadPid()}.tmp`;
    const otherMachine = `.a.vhd.0123456789ac.${CREATOR_TAG === "00000000" ? "00000001" : "00000000"}-${deadPid()}.tmp`;
    const abandoned = `.a.vhd.0123456789ad.${hostnameTag}-${process.pid}.tmp`;
    expect(await sweepAfter([sameHostName, otherMachine], [abandoned])).toEqual(["a.vhd", sameHostName, otherMachine].sort());
  });

  it("never removes what is not exactly a create's temporary file of this target, however old", async () => {
    const dead = deadPid();
    const names = [
      ".a.vhd.00112233aabb.tmp", // no creator tag: not a name this version makes
      ".a.vhd.notours.tmp",
      `.a.vhd.0123456789ab.${CREATOR_TAG}-${dead}.tmp.keep`,
      `.b.vhd.0123456789ab.${CREATOR_TAG}-${dead}.tmp`, // another target's
      `a.vhd.0123456789ab.${CREATOR_TAG}-${dead}.tmp`, // not hidden
    ];
    // A symbolic link and a folder under a matching name: neither is removed, nor the link's target touched.
    writeFileSync(join(dir, "precious"), "mine");
    symlinkSync(join(dir, "precious"), join(dir, `.a.vhd.0123456789ab.${CREATOR_TAG}-${dead}.tmp`));
    mkdirSync(join(dir, `.a.vhd.0123456789ac.${CREATOR_TAG}-${dead}.tmp`));
    const left = await sweepAfter([], names);
    expect(left).toEqual(
      ["a.vhd", "precious", ...names, `.a.vhd.0123456789ab.${CREATOR_TAG}-${dead}.tmp`, `.a.vhd.0123456789ac.${CREATOR_TAG}-${dead}.tmp`].sort(),
    );
    expect(readFileSync(join(dir, "precious"), "utf8")).toBe("mine");
  });

  it("a process in another pid namespace has another creator tag, so its pids are never probed here", async (context) => {
    if (process.getuid?.() !== 0) return context.skip("unshare --pid needs root");
    const probe = spawnSync("unshare", ["--pid", "--fork", process.execPath, "-e", `console.log(require(${JSON.stringify(join(CLI_MAIN, "../../storage/process-tag.js"))}).CREATOR_TAG)`], {
      encoding: "utf8",
    });
    if (probe.status !== 0) return context.skip(`unshare --pid failed here: ${probe.stderr.trim()}`);
    const theirTag = probe.stdout.trim();
    expect(theirTag).toMatch(/^[0-9a-f]{8}$/);
    expect(theirTag).not.toBe(CREATOR_TAG);
    const theirs = `.a.vhd.0123456789ab.${theirTag}-${deadPid()}.tmp`;
    expect(await sweepAfter([theirs])).toEqual(["a.vhd", theirs].sort());
  });
});
