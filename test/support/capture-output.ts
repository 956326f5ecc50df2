/** Captures everything written to stdout/stderr and through console while `body` runs. */
export async function captureOutput<T>(body: () => Promise<T>): Promise<{ result: T; output: string }> {
  const chunks: string[] = [];
  const originalStdout = process.stdout.write.bind(process.stdout);
  const originalStderr = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  const consoleMethods = ["log", "info", "warn", "error", "debug"] as const;
  // biome-ignore lint/suspicious/noConsole: replacing console is the point of this helper
  const originals = consoleMethods.map((method) => console[method]);
  for (const method of consoleMethods)
    console[method] = (...args: unknown[]) => capture(`${args.map(String).join(" ")}\n`);
  try {
    const result = await body();
    return { result, output: chunks.join("") };
  } finally {
    process.stdout.write = originalStdout;
    process.stderr.write = originalStderr;
    consoleMethods.forEach((method, index) => {
      console[method] = originals[index] as (typeof console)[typeof method];
    });
  }
}
