/**
 * Synthesizes the app the way `cdk synth` does (cdk-nag included) into a throwaway folder, for the infra tests.
 * Bundling is skipped unless asked for: the template is the same, and esbuild is the slow part.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { createApp } from "#lib/app.ts";
import type { Webhooks } from "#lib/webhooks.ts";

export type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown };

const outdirs: string[] = [];

export function synthesize(
  context: Record<string, unknown> = {},
  options: { bundle?: boolean; mutate?: (webhooks: Webhooks) => void } = {},
) {
  const outdir = mkdtempSync(join(tmpdir(), "sw-synth-"));
  outdirs.push(outdir);
  const { app, stack } = createApp({
    outdir,
    context: {
      stage: "test",
      ...(options.bundle ? {} : { "aws:cdk:bundling-stacks": [] }),
      ...context,
    },
  });
  options.mutate?.(stack.webhooks);
  let error: unknown;
  try {
    app.synth();
  } catch (caught) {
    error = caught;
  }
  const reportPath = join(outdir, "validation-report.json");
  const report = existsSync(reportPath)
    ? (JSON.parse(readFileSync(reportPath, "utf8")) as {
        pluginReports: { conclusion: string; violations: { ruleName: string }[] }[];
      })
    : undefined;
  const template = error ? undefined : Template.fromStack(stack);
  const resources = Object.entries((template?.toJSON().Resources ?? {}) as Record<string, Resource>);
  return { outdir, stack, webhooks: stack.webhooks, error, report, template, resources };
}

export function removeSynthOutput(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** `OperationsDeadLettersArriving1A2B3C4D` → `OperationsDeadLettersArriving`: logical ids without CDK's hash. */
export const withoutHash = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, "");

/** A resolved CloudFormation value with every Ref/GetAtt named by its hash-free logical id, for readable asserts. */
export function readable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readable);
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (typeof record.Ref === "string") return `${withoutHash(record.Ref)}`;
    const getAtt = record["Fn::GetAtt"];
    if (Array.isArray(getAtt)) return `${withoutHash(String(getAtt[0]))}.${String(getAtt[1])}`;
    const join = record["Fn::Join"];
    if (Array.isArray(join)) return (readable(join[1]) as unknown[]).map(String).join(String(join[0]));
    return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, readable(inner)]));
  }
  return value;
}
