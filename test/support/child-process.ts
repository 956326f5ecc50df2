/** Runs a project command as a user would, and finds what it left running. */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";

export interface RunningCommand {
  readonly child: ChildProcessWithoutNullStreams;
  /** Signals the whole process group, as a terminal's Ctrl-C (SIGINT) does. */
  signalGroup(signal: NodeJS.Signals): void;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  waitForExit(timeoutMs: number): Promise<number | null>;
}

/** Starts `command` as the leader of its own process group, as a shell does for a foreground job. */
export function startCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): RunningCommand {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: "pipe", detached: true });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const poll = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const tick = () => {
        const found = check();
        if (found !== undefined) return resolve(found);
        if (Date.now() > deadline)
          return reject(new Error(`timed out waiting for ${what}; output:\n${output}`));
        setTimeout(tick, 100);
      };
      tick();
    });
  return {
    child,
    signalGroup: (signal) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // the group is already gone
      }
    },
    output: () => output,
    waitForOutput: (pattern, timeoutMs) =>
      poll(() => output.match(pattern) ?? undefined, timeoutMs, String(pattern)),
    waitForExit: (timeoutMs) =>
      poll(
        () => (child.exitCode !== null || child.signalCode !== null ? child.exitCode : undefined),
        timeoutMs,
        "exit",
      ),
  };
}

/** Every process whose ancestry includes `rootPid` (per `ps`), still alive now. */
export function descendantsOf(rootPid: number): number[] {
  const table = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [pid, ppid] of table) {
      if (ppid === parent) {
        found.push(pid);
        walk(pid);
      }
    }
  };
  walk(rootPid);
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
