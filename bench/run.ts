/** `npm run bench`: runs every benchmark and rewrites BENCHMARKS.md with the figures, the machine and the date. */
import { writeFileSync } from "node:fs";
import { benchEngines } from "./engines.ts";
import { machineLine } from "./stats.ts";

const sections = [await benchEngines()];
const document = [
  "# Benchmarks",
  "",
  "Written by `npm run bench`; do not edit by hand.",
  "",
  `Machine: ${machineLine()}.`,
  "",
  ...sections,
  "",
].join("\n");
writeFileSync("BENCHMARKS.md", document);
console.log(document);
