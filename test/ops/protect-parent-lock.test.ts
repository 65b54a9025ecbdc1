/**
 * The holds record beside a protected parent under concurrent writers: separate Node.js processes (as two `pulumi
 * up`s, or the CLI and a stack, are) adding and then removing holders of one parent at the same moment. Each change
 * is a read, change and replace of the record; without the record's lock, one process's change overwrites another's.
 * Real files, the built library (provider/dist, built by the tests' global setup); and, within one process, the
 * in-memory storage, where the lock is taken the same way.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { holdsRecordPath, protectParent, releaseHold } from "../../provider/ops/protect-parent";
import { readJsonRecord } from "../../provider/storage/json-record";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";

const PROTECT_PARENT = resolve(__dirname, "../../provider/dist/ops/protect-parent.js");
const PROCESSES = 4;
const HOLDS_EACH = 12;

let dir: string;
let parent: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vhd-holds-race-"));
  parent = join(dir, "golden.vhd");
  // The record's logic never reads the parent's content, only its mode.
  writeFileSync(parent, "golden\n");
  chmodSync(parent, 0o644);
});
afterEach(() => {
  chmodSync(parent, 0o644);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `PROCESSES` processes that all start `action` on their own holders at the same instant; all must succeed. */
async function race(action: "protect" | "release"): Promise<void> {
  const startAt = Date.now() + 1500;
  const script = `
    const { protectParent, releaseHold } = require(${JSON.stringify(PROTECT_PARENT)});
    const [parent, who, count, startAt, action] = process.argv.slice(1);
    (async () => {
      await new Promise((done) => setTimeout(done, Math.max(0, Number(startAt) - Date.now())));
      for (let i = 0; i < Number(count); i++) {
        const uniqueId = who + "-" + i;
        if (action === "protect") await protectParent(parent, { uniqueId, imagePath: null });
        else await releaseHold(parent, { uniqueId, imagePath: null });
      }
    })().catch((error) => { console.error(String(error)); process.exit(1); });
  `;
  const children = Array.from({ length: PROCESSES }, (_, who) =>
    spawn(process.execPath, ["-e", script, parent, `p${who}`, String(HOLDS_EACH), String(startAt), action], { stdio: ["ignore", "ignore", "pipe"] }),
  );
  const results = await Promise.all(
    children.map(async (child) => {
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, "exit")) as [number | null];
      return { code, stderr };
    }),
  );
  for (const result of results) expect(result, result.stderr).toEqual({ code: 0, stderr: "" });
}

describe("the holds record under processes racing", () => {
  it("keeps every holder that processes add at the same moment, and lets go only after the last is released", async () => {
    await race("protect");
    const record = JSON.parse(readFileSync(join(dir, ".golden.vhd.pulumi-vhd-holds"), "utf8")) as { modeBefore: number; holders: { uniqueId: string }[] };
    const expected = Array.from({ length: PROCESSES }, (_, who) => Array.from({ length: HOLDS_EACH }, (_, i) => `p${who}-${i}`)).flat();
    expect(record.holders.map((holder) => holder.uniqueId).sort()).toEqual(expected.sort());
    expect(record.modeBefore).toBe(0o644);
    expect(statSync(parent).mode & 0o777).toBe(0o444);
    // No lock file and no temporary file left beside the record.
    expect(readdirSync(dir).sort()).toEqual([".golden.vhd.pulumi-vhd-holds", "golden.vhd"]);

    await race("release");
    expect(readdirSync(dir)).toEqual(["golden.vhd"]);
    expect(statSync(parent).mode & 0o777).toBe(0o644);
  });
});

describe("the holds record on the in-memory storage under callers racing", () => {
  it("keeps every holder added at once and puts the mode back after the last release", async () => {
    const storage = new MemoryStorage().addFile("/disks/golden.vhd", new TextEncoder().encode("golden\n"), 0o644);
    const ids = Array.from({ length: 16 }, (_, i) => `m-${i}`);
    await Promise.all(ids.map((uniqueId) => protectParent("/disks/golden.vhd", { uniqueId, imagePath: null }, storage)));
    const record = (await readJsonRecord(storage, holdsRecordPath("/disks/golden.vhd"), "parentPath")) as { holders: { uniqueId: string }[] };
    expect(record.holders.map((holder) => holder.uniqueId).sort()).toEqual([...ids].sort());
    expect((await storage.pathFacts("/disks/golden.vhd")).mode).toBe(0o444);

    await Promise.all(ids.map((uniqueId) => releaseHold("/disks/golden.vhd", { uniqueId, imagePath: null }, storage)));
    expect(storage.paths().filter((entry) => entry.startsWith("/disks/")).sort()).toEqual(["/disks/golden.vhd"]);
    expect((await storage.pathFacts("/disks/golden.vhd")).mode).toBe(0o644);
  });
});
