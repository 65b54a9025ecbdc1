/**
 * End-to-end helper: drives the real Pulumi CLI (the project-local build in `.tools/bin`, made by
 * `npm run toolchain`) against a Pulumi project, with everything isolated per stack: a fresh file state backend and
 * `PULUMI_HOME` in a temp directory, an empty passphrase, no update checks, no plugin downloads. Plugins come from
 * `.tools/bin` on PATH (the engine prefers such "ambient" plugins whatever their version).
 *
 * Usage, in a vitest file:
 * ```ts
 * import { PulumiTestStack } from "./pulumi-cli";
 *
 * let stack: PulumiTestStack;
 * beforeAll(async () => {
 *   // config `workDir` = a scratch folder under os.tmpdir() (stack.scratchDir) for the program's files
 *   stack = await PulumiTestStack.create({ projectDir: join(__dirname, "program"), scratchConfigKey: "workDir" });
 * });
 * afterAll(async () => { await stack?.dispose(); });   // destroys what is left, removes stack, scratch and temp dirs
 *
 * it("deploys", async () => {
 *   const up = await stack.up();                                   // `pulumi up --yes`
 *   expect(up.code, up.output).toBe(0);
 *   expect((await stack.outputs()).path).toMatch(/\.vhd$/);
 *   expect((await stack.preview(["--expect-no-changes"])).code).toBe(0);
 *   expect((await stack.refresh(["--expect-no-changes"])).code).toBe(0);
 * });
 * ```
 * The project directory must lie inside this repository: the program and the dynamic provider's plugin resolve
 * `@pulumi/pulumi` and `pulumi-vhd` from the repository's node_modules. Several stacks of one project may run at
 * once: each gets its own stack name (so its own `Pulumi.<stack>.yaml`, removed by `dispose`) and backend.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { constants as osConstants, tmpdir } from "node:os";
import { delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";

/** The repository root (this file lives in `<root>/test/support/`). */
export const REPO_ROOT = resolve(__dirname, "..", "..");

/** Where `npm run toolchain` puts `pulumi`, its Node.js language host and the resource plugins. */
export const TOOLS_BIN = join(REPO_ROOT, ".tools", "bin");

/** The project-local Pulumi CLI. */
export const PULUMI_BIN = join(TOOLS_BIN, "pulumi");

/** Upper bound for one CLI command, so that a hung engine fails the test instead of hanging the run. */
const COMMAND_TIMEOUT_MS = 10 * 60 * 1000;

/** What one CLI command did. */
export interface PulumiRunResult {
  /** Exit status (a signal counts as 128 + its number, as a shell reports it). */
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, with the command line: handy as an assertion message. */
  output: string;
}

/** Options of {@link PulumiTestStack.create}. */
export interface PulumiTestStackOptions {
  /** Folder holding `Pulumi.yaml`; must be inside the repository. */
  projectDir: string;
  /** Stack name; defaults to a unique `test-<random>` so that parallel stacks of one project do not collide. */
  stackName?: string;
  /** Stack configuration set (plain text) right after `stack init`. */
  config?: Record<string, string>;
  /**
   * Name of a config key to set to a fresh scratch folder (under `os.tmpdir()`, see {@link PulumiTestStack.scratchDir})
   * where the program may put its files; `dispose` removes it after the destroy.
   */
  scratchConfigKey?: string;
  /** Extra environment for every command (overrides the isolated defaults). */
  env?: Record<string, string>;
}

/** Options of a single command. */
export interface PulumiRunOptions {
  /** Extra environment for this command only. */
  env?: Record<string, string>;
}

/** True when `npm run toolchain` has built the CLI, so end-to-end tests can run. */
export function pulumiToolchainPresent(): boolean {
  return existsSync(PULUMI_BIN);
}

/**
 * One stack of a Pulumi project, with its own file backend and PULUMI_HOME under `os.tmpdir()`. Create it with
 * {@link PulumiTestStack.create}; always call {@link PulumiTestStack.dispose} (in `afterAll`).
 */
export class PulumiTestStack {
  private constructor(
    /** Absolute path of the project folder. */
    readonly projectDir: string,
    /** The stack's name (as passed to `--stack`). */
    readonly stackName: string,
    /** The temp folder holding `state/` (the backend), `home/` (PULUMI_HOME) and `scratch/`. */
    readonly workDir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** The scratch folder handed to the program through `scratchConfigKey` (exists whether or not the key is set). */
  get scratchDir(): string {
    return join(this.workDir, "scratch");
  }

  /** Makes the isolated backend and home, runs `pulumi stack init`, then sets `config`. Rejects if either fails. */
  static async create(options: PulumiTestStackOptions): Promise<PulumiTestStack> {
    const projectDir = resolve(options.projectDir);
    const fromRoot = relative(REPO_ROOT, projectDir);
    if (fromRoot.startsWith("..") || isAbsolute(fromRoot)) {
      throw new Error(
        `PulumiTestStack: project ${projectDir} is outside the repository ${REPO_ROOT}; ` +
          "the program and the dynamic provider resolve node_modules from there, so put it under the repository.",
      );
    }
    if (!existsSync(join(projectDir, "Pulumi.yaml"))) {
      throw new Error(`PulumiTestStack: no Pulumi.yaml in ${projectDir}.`);
    }
    if (!pulumiToolchainPresent()) {
      throw new Error(`PulumiTestStack: ${PULUMI_BIN} is missing; run \`npm run toolchain\` first.`);
    }
    const workDir = mkdtempSync(join(tmpdir(), "pulumi-vhd-e2e-"));
    mkdirSync(join(workDir, "state")); // the file backend does not create its folder
    mkdirSync(join(workDir, "scratch"));
    const stackName = options.stackName ?? `test-${randomBytes(4).toString("hex")}`;
    const stack = new PulumiTestStack(projectDir, stackName, workDir, isolatedEnv(workDir, options.env ?? {}));
    try {
      await stack.runChecked(["stack", "init", stackName]);
      const scratch = options.scratchConfigKey === undefined ? {} : { [options.scratchConfigKey]: stack.scratchDir };
      for (const [key, value] of Object.entries({ ...scratch, ...options.config })) {
        await stack.runChecked(["config", "set", "--stack", stackName, key, value]);
      }
    } catch (error) {
      stack.removeLocalFiles();
      throw error;
    }
    return stack;
  }

  /** `pulumi up --yes --stack <stack> ...args`. */
  up(args: string[] = [], options: PulumiRunOptions = {}): Promise<PulumiRunResult> {
    return this.run(["up", "--yes", "--stack", this.stackName, ...args], options);
  }

  /** `pulumi preview --stack <stack> ...args` (e.g. `--expect-no-changes`, `--diff`, `--json`). */
  preview(args: string[] = [], options: PulumiRunOptions = {}): Promise<PulumiRunResult> {
    return this.run(["preview", "--stack", this.stackName, ...args], options);
  }

  /** `pulumi refresh --yes --stack <stack> ...args`. */
  refresh(args: string[] = [], options: PulumiRunOptions = {}): Promise<PulumiRunResult> {
    return this.run(["refresh", "--yes", "--stack", this.stackName, ...args], options);
  }

  /** `pulumi destroy --yes --stack <stack> ...args`. */
  destroy(args: string[] = [], options: PulumiRunOptions = {}): Promise<PulumiRunResult> {
    return this.run(["destroy", "--yes", "--stack", this.stackName, ...args], options);
  }

  /** The stack's outputs (`pulumi stack output --json --show-secrets`). */
  async outputs(): Promise<Record<string, unknown>> {
    const result = await this.runChecked(["stack", "output", "--json", "--show-secrets", "--stack", this.stackName]);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  /** The stack's checkpoint (`pulumi stack export --show-secrets`): `{ version, deployment: { resources, ... } }`. */
  async exportStack(): Promise<StackExport> {
    const result = await this.runChecked(["stack", "export", "--show-secrets", "--stack", this.stackName]);
    return JSON.parse(result.stdout) as StackExport;
  }

  /**
   * Runs any `pulumi` command in the project folder with this stack's isolated environment (add `--stack` yourself).
   * Never rejects on a non-zero exit: look at `code`.
   */
  run(args: string[], options: PulumiRunOptions = {}): Promise<PulumiRunResult> {
    return this.start(args, options).result;
  }

  /**
   * Like {@link run}, but hands back the running CLI process too, for a test that signals it (e.g. SIGKILL in the
   * middle of an `up`). Only the `pulumi` process is signalled that way, as a user's `kill` would do.
   */
  start(args: string[], options: PulumiRunOptions = {}): RunningPulumi {
    return startPulumi(["--cwd", this.projectDir, "--non-interactive", "--color", "never", ...args], {
      ...this.env,
      ...options.env,
    });
  }

  /** Like {@link run}, but rejects with the command's output when it exits non-zero. */
  async runChecked(args: string[], options: PulumiRunOptions = {}): Promise<PulumiRunResult> {
    const result = await this.run(args, options);
    if (result.code !== 0) throw new Error(`pulumi exited with ${result.code}\n${result.output}`);
    return result;
  }

  /**
   * Destroys whatever the stack still holds, removes the stack, its `Pulumi.<stack>.yaml` and the temp folder.
   * Rejects (after cleaning up the local files) if the destroy failed, so a leaking test does not pass silently.
   */
  async dispose(): Promise<void> {
    try {
      const destroyed = await this.destroy(["--skip-preview"]);
      if (destroyed.code !== 0) throw new Error(`pulumi destroy failed during dispose\n${destroyed.output}`);
      await this.runChecked(["stack", "rm", "--yes", "--force", "--stack", this.stackName]);
    } finally {
      this.removeLocalFiles();
    }
  }

  private removeLocalFiles(): void {
    rmSync(join(this.projectDir, `Pulumi.${this.stackName}.yaml`), { force: true });
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** The part of `pulumi stack export` that tests read. */
export interface StackExport {
  version: number;
  deployment: {
    resources?: Array<{
      urn: string;
      type: string;
      id?: string;
      inputs?: Record<string, unknown>;
      outputs?: Record<string, unknown>;
      [key: string]: unknown;
    }>;
    [key: string]: unknown;
  };
}

/**
 * The offline defaults of scripts/pulumi.sh, pointed at a private backend and home: no account, no network.
 * `node` is put on PATH too, because the language host and the dynamic-provider plugin look it up there.
 */
function isolatedEnv(workDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: [TOOLS_BIN, dirname(process.execPath), process.env.PATH ?? ""].join(delimiter),
    PULUMI_HOME: join(workDir, "home"),
    PULUMI_BACKEND_URL: `file://${join(workDir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    ...extra,
  };
}

/** A `pulumi` command started by {@link PulumiTestStack.start}. */
export interface RunningPulumi {
  /** The CLI process. */
  child: ChildProcess;
  /** What it did, once it has exited. */
  result: Promise<PulumiRunResult>;
}

function startPulumi(args: string[], env: NodeJS.ProcessEnv): RunningPulumi {
  const child = spawn(PULUMI_BIN, args, { env, stdio: ["ignore", "pipe", "pipe"], timeout: COMMAND_TIMEOUT_MS });
  const result = new Promise<PulumiRunResult>((resolvePromise, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const out = Buffer.concat(stdout).toString("utf8");
      const err = Buffer.concat(stderr).toString("utf8");
      resolvePromise({
        code: code ?? 128 + signalNumber(signal),
        stdout: out,
        stderr: err,
        output: `$ pulumi ${args.join(" ")}\n${out}${err}`,
      });
    });
  });
  return { child, result };
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : osConstants.signals[signal];
}
