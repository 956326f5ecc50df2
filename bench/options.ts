/**
 * `npm run bench -- --quick` (or BENCH_QUICK=1): every stage at a fraction of its size, for development. A quick
 * run writes `.test-reports/bench-quick.md` and never BENCHMARKS.md (its counts are smaller, its medians thinner).
 */
export const QUICK = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";

/** `full` in a real run, `quick` in a quick one. */
export const sized = (full: number, quick: number): number => (QUICK ? quick : full);
