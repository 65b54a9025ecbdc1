import { once } from "node:events";
import { closeSync, existsSync, openSync, readdirSync, ftruncateSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, startVhd } from "./cli-process";

/**
 * Ctrl-C (SIGINT) and SIGTERM during a long `vhd create --from <raw>` cancel it: the exit status says which signal,
 * stderr has one VM_E_APP_SHUTTING_DOWN line, and nothing is left: no image, no temporary file, no folder the
 * command made.
 */
describe("vhd create, cancelled by a signal", () => {
  const temp = makeTempDir("signals");
  const raw = join(temp.dir, "huge.raw");

  beforeAll(() => {
    // 64 GiB, sparse: importing it takes minutes, so the signal surely lands mid-copy, yet it costs no disk space.
    const fd = openSync(raw, "w");
    ftruncateSync(fd, 64 * 1024 ** 3);
    closeSync(fd);
  });
  afterAll(() => temp.remove());

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("%s: exit %d, one error line, nothing left behind", async (signal, status) => {
    const folder = join(temp.dir, `out-${signal}`);
    const target = join(folder, "golden.vhd");
    const vhd = startVhd(["create", target, "--from", raw]);
    let stderr = "";
    vhd.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const exited = once(vhd, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      // Wait until the copy has begun: the folder exists and holds the temporary file.
      while (!(existsSync(folder) && readdirSync(folder).length > 0)) {
        expect(vhd.exitCode, `vhd exited before the copy began: ${stderr}`).toBeNull();
        await sleep(20);
      }
      vhd.kill(signal);
      const [code] = await exited;
      expect(code, stderr).toBe(status);
      expect(stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(stderr).toMatch(/^vhd: VM_E_APP_SHUTTING_DOWN \(0xA0040209\): /);
      expect(stderr).toContain(JSON.stringify(target));
      // The command made the folder, so taking back everything means the folder goes too.
      expect(existsSync(folder)).toBe(false);
    } finally {
      if (vhd.exitCode === null) vhd.kill("SIGKILL");
    }
  });
});
