/**
 * `npm run bench:remote`: disks on a remote host over SSH against what a user would run on that host instead, every
 * pair from the same run, against the loopback OpenSSH server of the tests (test/support/sshd.ts):
 *
 * 1. `vhd create-differencing` of a child off a 2040 GiB sparse dynamic VHD on the host (ssh:// paths), against
 *    `ssh host qemu-img create -f qcow2 -b parent -F vpc child`. Both are whole commands, each dialling its own
 *    connection. Target: within 1.5x.
 * 2. `vhd checksum` of a 2 GiB golden image (full of data) on the host, against `ssh host openssl dgst -sha256 file`.
 *    Target: at least 0.9x its throughput.
 * 3. `pulumi up` of 50 DifferencingDisks on the host, against the same stack made of `command.local.Command` steps each
 *    running `ssh host qemu-img create ...` (target <= 1.0x), each up after an untimed golden edit and followed by an
 *    untimed destroy; then the no-change preview with checksum on against the same with `checksum: false`: bytes
 *    hashed (target 0) and time (target <= 1.2x).
 *
 * Medians of `--runs` (default 3, at least 3 for the README) alternating runs; the `up` row takes `--up-runs` (default
 * 5, or `--runs` when that is given): its runs of either side spread over 12-18 s on a quiet machine (2026-11-30), so a
 * median of 3 can move by a tenth of the target between two runs of the bench. Sizes from the environment, so a small
 * run proves it works: BENCH_REMOTE_PARENT_GIB (default 2040), BENCH_REMOTE_GOLDEN_MIB (2048, a multiple of 16),
 * BENCH_REMOTE_DISKS (50).
 * Results go to bench/results/remote-<date>.json; everything made is destroyed and removed at the end.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createBaseDisk } from "../../provider/ops/create-base";
import { CHECKSUM_CACHE_ENV } from "../../provider/sha256/checksum-cache";
import { HASH_STATS_ENV, totalBytesHashed } from "../../provider/sha256/hash-stats";
import { PulumiTestStack, REPO_ROOT } from "../../test/support/pulumi-cli";
import { startSshd, sshdUnavailable, type TestSshd } from "../../test/support/sshd";
import { makeFullGolden } from "../fixtures";
import { alternate, machineFacts, median, runProgram, type Comparison, comparisonTable, describeComparison } from "../harness";

const MiB = 1024 * 1024;
const PARENT_GIB = Number(process.env.BENCH_REMOTE_PARENT_GIB ?? 2040);
const GOLDEN_MIB = Number(process.env.BENCH_REMOTE_GOLDEN_MIB ?? 2048);
const DISKS = Number(process.env.BENCH_REMOTE_DISKS ?? 50);
const VHD_CLI = join(REPO_ROOT, "provider", "dist", "cli", "main.js");

/** Runs per row from `--runs N` and `--up-runs N` (see the file comment). */
function parseRuns(args: readonly string[]): { runs: number; upRuns: number } {
  const given = new Map<string, number>();
  for (let index = 0; index < args.length; index += 2) {
    const [name, value] = [args[index] ?? "", Number(args[index + 1])];
    if (!["--runs", "--up-runs"].includes(name) || !(Number.isInteger(value) && value >= 1)) {
      throw new Error(`unknown options ${args.join(" ")}: use --runs N (default 3) and --up-runs N (default 5, or --runs N)`);
    }
    given.set(name, value);
  }
  const runs = given.get("--runs") ?? 3;
  return { runs, upRuns: given.get("--up-runs") ?? given.get("--runs") ?? 5 };
}

/** How both sides reach the host: our CLI's options and the ssh client's. */
interface Access {
  server: TestSshd;
  /** `vhd` options: the key file and the pinned host key. */
  vhdOptions: string[];
  /** `ssh` options and destination, before the remote command. */
  ssh: string[];
  url(path: string): string;
}

function accessTo(server: TestSshd, work: string): Access {
  const identity = join(work, "id_bench");
  writeFileSync(identity, server.privateKey, { mode: 0o600 });
  return {
    server,
    vhdOptions: ["--identity", identity, "--host-key", server.hostKeyFingerprint, "--quiet"],
    ssh: ["ssh", "-q", "-p", String(server.port), "-i", identity, "-o", `UserKnownHostsFile=${server.knownHostsPath}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `${server.user}@${server.host}`],
    url: (path) => `ssh://${server.user}@${server.host}:${server.port}${path}`,
  };
}

const vhd = (args: string[]): Promise<unknown> => runProgram(process.execPath, [VHD_CLI, ...args]);
const onHost = (access: Access, command: string[]): Promise<unknown> => runProgram(access.ssh[0]!, [...access.ssh.slice(1), ...command]);

async function compare(
  name: string,
  sides: { ours: string; peer: string },
  runs: number,
  ours: () => Promise<unknown>,
  peer: () => Promise<unknown>,
  judge: (oursMs: number, peerMs: number) => { target: string; met: boolean },
  settle?: (next: "ours" | "peer") => Promise<unknown>,
  facts: Record<string, number | string | boolean> = {},
): Promise<Comparison> {
  const timings = await alternate(runs, ours, peer, settle);
  const oursMs = median(timings.oursRunsMs);
  const peerMs = median(timings.peerRunsMs);
  return { name, ...sides, oursMs, peerMs, ...timings, ...judge(oursMs, peerMs), facts };
}

/** 1: a child off a 2040 GiB sparse parent on the host. */
async function createChild(access: Access, folder: string, runs: number): Promise<Comparison> {
  const parent = join(folder, "parent.vhd");
  await createBaseDisk({ path: parent, type: "dynamic", size: PARENT_GIB * 1024 * MiB });
  const ours = join(folder, "child.vhd");
  const peer = join(folder, "child.qcow2");
  return compare(
    `create a child off a ${PARENT_GIB} GiB parent on the host`,
    { ours: "vhd create-differencing ssh://...", peer: "ssh host qemu-img create -f qcow2 -b parent -F vpc" },
    runs,
    () => vhd(["create-differencing", access.url(ours), access.url(parent), ...access.vhdOptions]),
    () => onHost(access, ["qemu-img", "create", "-q", "-f", "qcow2", "-b", parent, "-F", "vpc", peer]),
    (oursMs, peerMs) => ({ target: "within 1.5x", met: oursMs <= 1.5 * peerMs }),
    async () => {
      rmSync(ours, { force: true });
      rmSync(peer, { force: true });
    },
  );
}

/** 2: the golden image's SHA-256 on the host. */
async function checksum(access: Access, golden: string, runs: number): Promise<Comparison> {
  const bytes = GOLDEN_MIB * MiB;
  const result = await compare(
    `SHA-256 of a ${GOLDEN_MIB} MiB golden image on the host`,
    { ours: "vhd checksum ssh://...", peer: "ssh host openssl dgst -sha256" },
    runs,
    () => vhd(["checksum", access.url(golden), ...access.vhdOptions]),
    () => onHost(access, ["openssl", "dgst", "-sha256", golden]),
    (oursMs, peerMs) => ({ target: "throughput >= 0.9x", met: peerMs / oursMs >= 0.9 }),
  );
  const mibPerSecond = (ms: number): string => (bytes / MiB / (ms / 1000)).toFixed(0);
  result.facts = { oursMiBps: mibPerSecond(result.oursMs), peerMiBps: mibPerSecond(result.peerMs), throughputRatio: (result.peerMs / result.oursMs).toFixed(2) };
  return result;
}

/** Timed `pulumi` command; fails the benchmark when the command fails. */
async function timedRun(run: () => Promise<{ code: number; output: string }>): Promise<number> {
  const start = process.hrtime.bigint();
  const result = await run();
  if (result.code !== 0) throw new Error(`benchmark step failed\n${result.output}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** 3: `pulumi up` of the disks and the no-change preview. */
async function stacks(access: Access, golden: string, work: string, runs: { runs: number; upRuns: number }, owned: PulumiTestStack[]): Promise<Comparison[]> {
  const { server } = access;
  const statsFile = join(work, "hash-stats.jsonl");
  const create = async (options: Parameters<typeof PulumiTestStack.create>[0], secretKey: boolean): Promise<PulumiTestStack> => {
    const stack = await PulumiTestStack.create(options);
    owned.push(stack);
    if (secretKey) await stack.runChecked(["config", "set", "--secret", "--stack", stack.stackName, "--", "privateKey", server.privateKey]);
    return stack;
  };
  const disksConfig = (subfolder: string, checksumOn: boolean): Record<string, string> => {
    mkdirSync(join(server.root, subfolder));
    const connection = { host: server.host, port: server.port, user: server.user, hostKey: server.hostKey };
    return { golden, folder: join(server.root, subfolder), count: String(DISKS), checksum: String(checksumOn), connection: JSON.stringify(connection) };
  };
  const program = join(REPO_ROOT, "bench", "remote", "disks");
  const withChecksum = await create(
    { projectDir: program, config: disksConfig("on", true), env: { [HASH_STATS_ENV]: statsFile, [CHECKSUM_CACHE_ENV]: join(work, "checksum-cache") } },
    true,
  );
  const withoutChecksum = await create({ projectDir: program, config: disksConfig("off", false) }, true);
  mkdirSync(join(server.root, "qemu"));
  const qemu = await create(
    { projectDir: join(REPO_ROOT, "bench", "remote", "qemu"), config: { golden, folder: join(server.root, "qemu"), count: String(DISKS), ssh: JSON.stringify(access.ssh) } },
    false,
  );

  // Before each timed up, untimed: a destroy of what the last up of that side made, and an edit of the golden image
  // (a new mtime: nothing to reuse from an earlier run, as in a pipeline after the image changed).
  const destroy = async (stack: PulumiTestStack): Promise<void> => {
    const destroyed = await stack.destroy(["--skip-preview"]);
    if (destroyed.code !== 0) throw new Error(`destroy failed\n${destroyed.output}`);
  };
  const upResult = await compare(
    `pulumi up of ${DISKS} disks on one host (checksum on)`,
    { ours: "DifferencingDisk with connection", peer: "command.local.Command: ssh host qemu-img create" },
    runs.upRuns,
    () => timedRun(() => withChecksum.up(["--skip-preview"])),
    () => timedRun(() => qemu.up(["--skip-preview"])),
    (oursMs, peerMs) => ({ target: "<= 1.0x", met: oursMs <= peerMs }),
    async (next) => {
      await destroy(next === "ours" ? withChecksum : qemu);
      const now = new Date();
      utimesSync(golden, now, now);
    },
  );
  await destroy(qemu);

  await timedRun(() => withChecksum.up(["--skip-preview"]));
  await timedRun(() => withoutChecksum.up(["--skip-preview"]));
  const hashedBefore = totalBytesHashed(statsFile);
  const preview = (stack: PulumiTestStack) => (): Promise<number> => timedRun(() => stack.preview(["--expect-no-changes"]));
  const previewResult = await compare(
    `no-change preview of ${DISKS} disks on one host, checksum on vs off`,
    { ours: "checksum: true", peer: "checksum: false" },
    runs.runs,
    preview(withChecksum),
    preview(withoutChecksum),
    (oursMs, peerMs) => ({ target: "<= 1.2x and 0 bytes hashed", met: oursMs <= 1.2 * peerMs }),
  );
  const hashed = totalBytesHashed(statsFile) - hashedBefore;
  previewResult.facts = { bytesHashed: hashed };
  previewResult.met = previewResult.met && hashed === 0;
  return [upResult, previewResult];
}

async function main(): Promise<void> {
  const { runs, upRuns } = parseRuns(process.argv.slice(2));
  const unavailable = sshdUnavailable();
  if (unavailable !== undefined) throw new Error(`bench:remote needs the test sshd: ${unavailable}`);
  const work = mkdtempSync(join(tmpdir(), "vhd-bench-remote-"));
  const server = await startSshd();
  const owned: PulumiTestStack[] = [];
  try {
    const access = accessTo(server, work);
    const machine = machineFacts();
    console.log(`bench:remote  ${machine.date}`);
    console.log(`machine       ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, load ${(loadavg()[0] ?? 0).toFixed(2)}`);
    console.log(`host          OpenSSH on loopback (${server.host}:${server.port}), disk root ${server.root}`);
    console.log(`runs          median of ${runs} alternating runs per side (the up: ${upRuns}), after one untimed warm-up of each`);
    const golden = await makeFullGolden(server.root, "golden", GOLDEN_MIB);
    const results: Comparison[] = [];
    results.push(await createChild(access, server.root, runs));
    results.push(await checksum(access, golden, runs));
    results.push(...(await stacks(access, golden, work, { runs, upRuns }, owned)));

    const resultsDir = join(REPO_ROOT, "bench", "results");
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, `remote-${String(machine.date).replace(/[:.]/g, "-")}.json`), `${JSON.stringify({ machine, runs, upRuns, results }, null, 2)}\n`);
    console.log(`\n${comparisonTable(results)}\n`);
    for (const result of results) console.log(`${describeComparison(result)}\n`);
  } finally {
    for (const stack of owned) await stack.dispose().catch((error: unknown) => console.error(error));
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
