import { defineConfig } from "vitest/config";

/** One project per test level; `npm test` runs them all, `npm run test:<level>` one. */
export default defineConfig({
  test: {
    // EMF metric lines would drown the test output; the metrics test turns them back on for itself.
    env: { POWERTOOLS_METRICS_DISABLED: "true" },
    reporters: process.env.VITEST_JSON_REPORT ? ["default", "json"] : ["default"],
    outputFile: process.env.VITEST_JSON_REPORT ? { json: process.env.VITEST_JSON_REPORT } : {},
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/support/engines.global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: "infra",
          include: ["test/infra/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
