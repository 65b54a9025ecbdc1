/**
 * The parent's checksum started before the provider's first `check` (issue 11): the program starts it when a disk is
 * declared (`startParentChecksum`), in another process than the provider plugin, and the check takes its result
 * from the checksum cache instead of hashing the parent a second time, waiting while that process still hashes.
 * The other process is a real Node.js process running the built library, as the program is.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createBaseDisk } from "../../provider/ops/create-base";
import * as provider from "../../provider/resource/provider";
import { CHECKSUM_CACHE_ENV } from "../../provider/sha256/checksum-cache";
import { HASH_STATS_ENV, readStatsLines } from "../../provider/sha256/hash-stats";
import type { DiskInputs } from "../../provider/resource/state";
import { REPO_ROOT } from "../support/pulumi-cli";

const DIST = join(REPO_ROOT, "provider", "dist");
const MiB = 1024 * 1024;

let dir: string;
let cacheDir: string;
let golden: string;
let statsFile: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "vhd-early-checksum-"));
  cacheDir = join(dir, "cache");
  statsFile = join(dir, "stats.jsonl");
  golden = join(dir, "golden.vhd");
  vi.stubEnv(HASH_STATS_ENV, statsFile);
  vi.stubEnv(CHECKSUM_CACHE_ENV, cacheDir);
  await createBaseDisk({ path: golden, size: 32 * MiB, type: "fixed", pathRules: "posix" });
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

/** A Node.js process running `script` against the built library (`dist` in scope), with this test's environment. */
function otherProcess(script: string): ChildProcess {
  const child = spawn(process.execPath, ["-e", `const dist = ${JSON.stringify(DIST)};\n${script}`], {
    env: { ...process.env, [HASH_STATS_ENV]: statsFile, [CHECKSUM_CACHE_ENV]: cacheDir },
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(child);
  return child;
}

/** Resolves with the first line `child` prints. */
async function firstLine(child: ChildProcess): Promise<string> {
  const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, "data")) as [Buffer];
  return chunk.toString("utf8").trim();
}

/**
 * A process that takes the hashing lock of the golden image's plain SHA-256, prints "held", and on a line on its stdin
 * remembers `digest` for it (as a finished hash would) and lets go.
 */
function holderOfTheHashingLock(digest: string): ChildProcess {
  return otherProcess(`
    const { localStorage } = require(dist + "/storage/local/local-storage");
    const cache = require(dist + "/sha256/checksum-cache");
    (async () => {
      const fingerprint = await localStorage.fingerprint(${JSON.stringify(golden)}, "parentPath");
      const key = cache.checksumCacheKey(fingerprint, ${JSON.stringify(golden)}, undefined);
      await cache.whileHashing(key, "sha256", fingerprint.size, async () => {
        process.stdout.write("held\\n");
        await require("node:events").once(process.stdin, "data");
        await cache.rememberChecksum(key, "sha256", ${JSON.stringify(digest)});
      });
      process.exit(0);
    })();
  `);
}

async function checkedChecksum(): Promise<string | null> {
  const result = await provider.check({}, { imagePath: join(dir, "child.vhd"), parentPath: golden, pathRules: "posix" });
  expect(result.failures ?? []).toEqual([]);
  return (result.inputs as DiskInputs).parentChecksum;
}

const hashLines = (): Array<{ pid: number }> => readStatsLines(statsFile).filter((line) => line.event === "sha256");

describe("a checksum another process is computing", () => {
  it("is waited for by check, which takes that process's result and hashes nothing", async () => {
    const digest = "ab".repeat(32);
    const holder = holderOfTheHashingLock(digest);
    expect(await firstLine(holder)).toBe("held");
    const checked = checkedChecksum();
    // The check cannot finish while the other process holds the lock; let it finish its "hash".
    holder.stdin?.write("done\n");
    expect(await checked).toBe(digest);
    expect(hashLines()).toEqual([]);
  });

  it("is hashed by check itself when the process hashing it died", async () => {
    const holder = holderOfTheHashingLock("cd".repeat(32));
    expect(await firstLine(holder)).toBe("held");
    holder.kill("SIGKILL");
    await once(holder, "exit");
    expect(await checkedChecksum()).toBe(createHash("sha256").update(readFileSync(golden)).digest("hex"));
    expect(hashLines().map((line) => line.pid)).toEqual([process.pid]);
    expect(readdirSync(cacheDir).filter((file) => file.endsWith(".lock"))).toEqual([]);
  });
});

describe("startParentChecksum, as the program calls it when a disk is declared", () => {
  it("hashes the parent in the program's process; the provider's check then hashes nothing", async () => {
    const program = otherProcess(`
      const { localStorage } = require(dist + "/storage/local/local-storage");
      require(dist + "/ops/observe-parent").startParentChecksum(${JSON.stringify(golden)}, localStorage);
    `);
    await once(program, "exit");
    const [line] = hashLines();
    expect(line?.pid).toBe(program.pid);
    expect(await checkedChecksum()).toBe(createHash("sha256").update(readFileSync(golden)).digest("hex"));
    expect(hashLines()).toHaveLength(1);
  });
});
