/** Prints the closing `N passed, M failed` line from vitest's JSON report (used by `.ci/run`). */
import { readFileSync } from "node:fs";

interface VitestJsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
}

const path = process.argv[2] ?? ".test-reports/vitest.json";
let report: VitestJsonReport;
try {
  report = JSON.parse(readFileSync(path, "utf8")) as VitestJsonReport;
} catch {
  console.log("0 passed, 1 failed");
  console.error(`no test report at ${path}: the test run did not complete`);
  process.exit(1);
}
// A suite that fails to load counts as a failure even though none of its tests ran.
const failed = report.numFailedTests + (report.numFailedTests === 0 ? report.numFailedTestSuites : 0);
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || report.numPassedTests === 0 ? 1 : 0);
