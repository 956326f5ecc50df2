/**
 * The documentation a user reads in the repository holds together: every relative link in the README, docs/ and
 * BENCHMARKS.md resolves to a file inside the repository (and, with an anchor, to a heading of that file, slugged
 * as GitHub does), and the README stays a short front door.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import GithubSlugger from "github-slugger";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const documents = [
  "README.md",
  "BENCHMARKS.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** Lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { line: string; number: number }[] {
  let fenced = false;
  return text.split("\n").flatMap((line, index) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return [];
    }
    return fenced ? [] : [{ line, number: index + 1 }];
  });
}

/** `[text](target)` and `![alt](target)` in prose, with inline code spans removed first. */
function linksOf(text: string): string[] {
  return proseLines(text).flatMap(({ line }) =>
    [...line.replace(/`[^`]*`/g, "``").matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? ""),
  );
}

function anchorsOf(text: string): Set<string> {
  const slugger = new GithubSlugger();
  return new Set(
    proseLines(text)
      .map(({ line }) => /^#{1,6}\s+(.*)$/.exec(line)?.[1])
      .filter((heading): heading is string => heading !== undefined)
      .map((heading) => slugger.slug(heading.replace(/`/g, ""))),
  );
}

describe("documentation links", () => {
  it("finds the documents and their links (the check below has something to check)", () => {
    expect(documents).toEqual(
      expect.arrayContaining(["README.md", "docs/architecture.md", "docs/security.md"]),
    );
    expect(linksOf(readFileSync(join(root, "README.md"), "utf8")).length).toBeGreaterThan(5);
  });

  it.each(documents)("every relative link in %s resolves inside the repository", (document) => {
    const source = join(root, document);
    const broken = linksOf(readFileSync(source, "utf8")).flatMap((link) => {
      const problem = problemOf(source, link);
      return problem ? [`${link} (${problem})`] : [];
    });
    expect(broken).toEqual([]);
  });
});

/** Why a link from `source` does not resolve, or undefined when it does (absolute URLs are not ours to check). */
function problemOf(source: string, link: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link)) return undefined;
  const [path = "", anchor] = link.split("#");
  const target = path === "" ? source : resolve(dirname(source), decodeURIComponent(path));
  if (relative(root, target).startsWith("..")) return "outside the repository";
  if (!existsSync(target)) return "no such file";
  const isMarkdown = statSync(target).isFile() && target.endsWith(".md");
  if (anchor !== undefined && isMarkdown && !anchorsOf(readFileSync(target, "utf8")).has(anchor))
    return "no such heading";
  return undefined;
}

describe("the README is a front door", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");

  it("is at most 250 lines, with a table of contents", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(250);
    expect(readme).toMatch(/^## Contents$/m);
  });

  it("has no line over 160 characters outside code blocks", () => {
    const long = proseLines(readme).filter(({ line }) => [...line].length > 160);
    expect(long.map(({ number }) => number)).toEqual([]);
  });
});
