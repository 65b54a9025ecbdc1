/**
 * End to end, real Pulumi CLI and two real OpenSSH servers on loopback (test/support/sshd.ts), each with its own disk
 * root, plus one local disk: disks land on their connection's host and their ids and chains name it; a no-change
 * preview hashes nothing; a golden image edited on one host (mtime restored) plans the cascade on that host only;
 * the state holds no credential in plain text; destroy removes the disks and leaves the golden images. Then the
 * failures: a wrong host key and a wrong private key each fail with the host named; sshd killed mid-create; a full
 * and a read-only remote volume (a small tmpfs) fail `up` naming the host and leave nothing, and `up` succeeds after.
 */
import { existsSync, mkdirSync, readdirSync, watch } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import type { ConnectionArgs } from "../../provider/storage/ssh/connection-args";
import { sshdUnavailable, startSshd, type TestSshd } from "../support/sshd";
import { mountTmpfs, type TmpfsMount } from "../support/tmpfs";
import { pulumiToolchainPresent } from "../support/pulumi-cli";
import { changeKeepingSizeAndMtime, DiskStack, makeGoldenImage, plannedSteps, sha256Of, type DiskSpec } from "./e2e-support";

const unavailable = sshdUnavailable() ?? (pulumiToolchainPresent() ? undefined : "the Pulumi toolchain is missing (npm run toolchain)");

const servers: TestSshd[] = [];
/** tmpfs volumes a test mounted under a server's root, unmounted after the file whatever happened. */
const mounts: TmpfsMount[] = [];
let disks: DiskStack | undefined;

/** The connection to `server`, its private key taken from the secret config `key<index>` (see {@link setKeys}). */
const connectionTo = (server: TestSshd, extra: Partial<ConnectionArgs> = {}): ConnectionArgs => ({
  host: server.host,
  port: server.port,
  user: server.user,
  privateKey: `{secret:key${servers.indexOf(server)}}`,
  hostKey: server.hostKey,
  ...extra,
});

/** Puts each server's private key in the stack's secret config, as a user keeps credentials. */
async function setKeys(stack: DiskStack): Promise<void> {
  for (const [index, server] of servers.entries()) {
    await stack.stack.runChecked(["config", "set", "--secret", "--stack", stack.stack.stackName, "--", `key${index}`, server.privateKey]);
  }
}

/** The lines of a private key that would betray it (its base64 body). */
const keyLines = (server: TestSshd): string[] =>
  server.privateKey.split("\n").filter((line) => line.length > 20 && !line.startsWith("-----"));
const hostOf = (server: TestSshd): string => `ssh://${server.user}@${server.host}:${server.port}`;
const golden = (server: TestSshd): string => join(server.root, "golden.vhd");
const vm = (server: TestSshd, name: string): string => join(server.root, "vms", `${name}.vhd`);

/** On each host: `os` off its golden image and `app` off `os`; the same names on both, so only the host tells them apart. */
function remoteDisks(extra: (server: TestSshd) => Partial<ConnectionArgs> = () => ({})): (golden: string, dir: string) => DiskSpec[] {
  return (localGolden, dir) => [
    ...servers.flatMap((server, index): DiskSpec[] => [
      { name: `os${index}`, parentPath: golden(server), imagePath: vm(server, "os"), connection: connectionTo(server, extra(server)) },
      { name: `app${index}`, parent: `os${index}`, imagePath: "app.vhd", connection: connectionTo(server, extra(server)) },
    ]),
    { name: "local", parentPath: localGolden, imagePath: join(dir, "vms", "local.vhd") },
  ];
}

beforeAll(async () => {
  if (unavailable !== undefined) return;
  for (let index = 0; index < 2; index++) {
    const server = await startSshd();
    servers.push(server);
    await makeGoldenImage(golden(server));
  }
}, 60000);

afterAll(async () => {
  try {
    await disks?.dispose();
  } finally {
    for (const mount of mounts) mount.unmount();
    for (const server of servers) await server.stop();
  }
});

describe("DifferencingDisk on remote hosts under the real CLI", () => {
  it("up makes each disk on its own host; ids and chains name the host, a local disk keeps its path", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    disks = await DiskStack.create("remote", remoteDisks());
    await setKeys(disks);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    for (const [index, server] of servers.entries()) {
      expect(existsSync(vm(server, "os")) && existsSync(vm(server, "app"))).toBe(true);
      const app = await disks.outputsOf(`app${index}`);
      expect(app).toMatchObject({
        id: `${hostOf(server)}${vm(server, "app")}`,
        imagePath: vm(server, "app"),
        chain: [`${hostOf(server)}${vm(server, "os")}`, `${hostOf(server)}${golden(server)}`],
      });
      expect((await disks.outputsOf(`os${index}`)).parentChecksum).toBe(sha256Of(golden(server)));
    }
    expect((await disks.outputsOf("local")).id).toBe(join(disks.dir, "vms", "local.vhd"));
    const state = await disks.stack.exportStack();
    for (const [index, server] of servers.entries()) {
      const app = state.deployment.resources?.find((resource) => resource.urn.endsWith(`::app${index}`));
      expect(Object.keys(app?.outputs?.ancestors as object)).toEqual([`${hostOf(server)}${golden(server)}`]);
    }
  });

  it("a no-change preview hashes 0 bytes", async (context) => {
    if (disks === undefined) return context.skip(unavailable ?? "the stack was not deployed");
    const hashed = disks.bytesHashed();
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
    expect(disks.bytesHashed()).toBe(hashed);
  });

  it("the exported state holds no private key in plain text", async (context) => {
    if (disks === undefined) return context.skip(unavailable ?? "the stack was not deployed");
    const exported = await disks.stack.runChecked(["stack", "export", "--stack", disks.stack.stackName]);
    for (const server of servers) {
      for (const line of keyLines(server)) expect(exported.stdout).not.toContain(line);
    }
    expect(exported.stdout).toContain("4dabf18193072939515e22adb298388d");
  });

  it("a golden image edited on one host with its mtime restored plans the cascade on that host only", async (context) => {
    if (disks === undefined) return context.skip(unavailable ?? "the stack was not deployed");
    const [first] = servers;
    await changeKeepingSizeAndMtime(golden(first!), 4096);
    const preview = await disks.stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = plannedSteps(preview.output);
    expect(steps.map((step) => [step.name, step.operation]).sort(), preview.output).toEqual([
      ["app0", "replace"],
      ["os0", "replace"],
    ]);
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect((await disks.outputsOf("os0")).parentChecksum).toBe(sha256Of(golden(first!)));
  });

  it("destroy removes every disk and leaves the golden images", async (context) => {
    if (disks === undefined) return context.skip(unavailable ?? "the stack was not deployed");
    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    for (const server of servers) {
      expect(existsSync(vm(server, "os")) || existsSync(vm(server, "app"))).toBe(false);
      expect(existsSync(golden(server))).toBe(true);
    }
    expect(existsSync(disks.golden)).toBe(true);
  });
});

describe("DifferencingDisk remote failures under the real CLI", () => {
  it("a wrong host key fails with the host named, and makes nothing", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const [server, other] = servers;
    const stack = await DiskStack.create("remote-hostkey", () => [
      { name: "os", parentPath: golden(server!), imagePath: vm(server!, "wrong-key"), connection: connectionTo(server!, { hostKey: other!.hostKey }) },
    ]);
    try {
      await setKeys(stack);
      const up = await stack.stack.up();
      expect(up.code).not.toBe(0);
      expect(up.output).toContain("SEC_E_WRONG_PRINCIPAL");
      expect(up.output).toContain(`${server!.host}:${server!.port}`);
      expect(existsSync(vm(server!, "wrong-key"))).toBe(false);
    } finally {
      await stack.dispose();
    }
  });

  it("a wrong private key fails with the host named and the key nowhere in the output", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const [server, other] = servers;
    const stack = await DiskStack.create("remote-logon", () => [
      { name: "os", parentPath: golden(server!), imagePath: vm(server!, "wrong-user"), connection: connectionTo(server!, { privateKey: "{secret:key1}" }) },
    ]);
    try {
      await setKeys(stack);
      const up = await stack.stack.up();
      expect(up.code).not.toBe(0);
      expect(up.output).toContain("ERROR_LOGON_FAILURE");
      expect(up.output).toContain(`${server!.host}:${server!.port}`);
      for (const line of keyLines(other!)) expect(up.output).not.toContain(line);
    } finally {
      await stack.dispose();
    }
  });

  it("sshd killed during a create leaves nothing at imagePath; the next up succeeds and leaves no temporary file", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const [server] = servers;
    const folder = join(server!.root, "killed");
    mkdirSync(folder);
    const imagePath = join(folder, "os.vhd");
    const stack = await DiskStack.create("remote-killed", () => [
      { name: "os", parentPath: golden(server!), imagePath, connection: connectionTo(server!) },
    ]);
    // The moment the create's temporary file appears, every session to the host dies: the write is cut off.
    let killed = false;
    const watcher = watch(folder, (_event, name) => {
      if (!killed && typeof name === "string" && /^\.os\.vhd\..*\.tmp$/.test(name)) {
        killed = true;
        server!.killSessions();
      }
    });
    try {
      await setKeys(stack);
      const interrupted = await stack.stack.up();
      watcher.close();
      expect(killed).toBe(true);
      expect(interrupted.code, interrupted.output).not.toBe(0);
      expect(interrupted.output).toContain(`${server!.host}:${server!.port}`);
      expect(existsSync(imagePath)).toBe(false);
      const again = await stack.stack.up();
      expect(again.code, again.output).toBe(0);
      expect(existsSync(imagePath)).toBe(true);
      expect(readdirSync(folder).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    } finally {
      watcher.close();
      await stack.dispose();
    }
  });

  it("a full, then read-only remote volume fails up with the host and HRESULT named and nothing left; up succeeds once it is fixed", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const [server] = servers;
    const mounted = mountTmpfs(join(server!.root, "small"), 16 * 1024 * 1024);
    if (typeof mounted === "string") return context.skip(mounted);
    mounts.push(mounted);
    const imagePath = join(mounted.path, "vms", "os.vhd");
    const stack = await DiskStack.create("remote-volume", () => [
      { name: "os", parentPath: golden(server!), imagePath, connection: connectionTo(server!) },
    ]);
    try {
      await setKeys(stack);
      const goldenSum = sha256Of(golden(server!));
      const failsWith = async (code: string, hresult: string, left: string[]): Promise<void> => {
        const up = await stack.stack.up();
        expect(up.code, up.output).not.toBe(0);
        expect(up.output).toContain(`${code} (${hresult})`);
        expect(up.output).toContain(`ssh://${server!.user}@${server!.host}:${server!.port}${imagePath}`);
        expect(readdirSync(mounted.path)).toEqual(left);
      };
      mounted.fill();
      await failsWith("ERROR_DISK_FULL", "0x80070070", ["filler"]);
      mounted.unfill();
      mounted.remount("ro");
      await failsWith("ERROR_INVALID_DRIVE", "0x8007000F", []);
      mounted.remount("rw");
      const up = await stack.stack.up();
      expect(up.code, up.output).toBe(0);
      expect(existsSync(imagePath)).toBe(true);
      expect(readdirSync(join(mounted.path, "vms")).filter((name) => name.endsWith(".tmp"))).toEqual([]);
      expect(sha256Of(golden(server!))).toBe(goldenSum);
    } finally {
      await stack.dispose();
    }
  });
});

describe("DifferencingDisk.get on a remote host under the real CLI", () => {
  it("reads a disk by its ssh:// id with the host's connection, and owns nothing: destroy leaves it", async (context) => {
    if (unavailable !== undefined) return context.skip(unavailable);
    const [server] = servers;
    const imagePath = vm(server!, "found");
    await createDifferencingDisk({ imagePath, parentPath: golden(server!) });
    const id = `${hostOf(server!)}${imagePath}`;
    const stack = await DiskStack.create("remote-get", () => []);
    try {
      await setKeys(stack);
      await stack.stack.runChecked(["config", "set", "--stack", stack.stack.stackName, "gets", JSON.stringify([{ name: "found", id, connection: connectionTo(server!) }])]);
      const up = await stack.stack.up();
      expect(up.code, up.output).toBe(0);
      expect(await stack.outputsOf("found")).toMatchObject({
        id,
        imagePath,
        parentPath: golden(server!),
        chain: [`${hostOf(server!)}${golden(server!)}`],
        parentChecksum: sha256Of(golden(server!)),
      });
      const exported = await stack.stack.runChecked(["stack", "export", "--stack", stack.stack.stackName]);
      for (const line of keyLines(server!)) expect(exported.stdout).not.toContain(line);
      const destroy = await stack.stack.destroy();
      expect(destroy.code, destroy.output).toBe(0);
      expect(existsSync(imagePath)).toBe(true);
    } finally {
      await stack.dispose();
    }
  });
});
