/** Starts the local AWS engines once per test run and hands their endpoints to every integration test file. */
import type { TestProject } from "vitest/node";
import { type EngineEndpoints, startEngines } from "#local/engines.ts";

declare module "vitest" {
  export interface ProvidedContext {
    engines: EngineEndpoints;
  }
}

export default async function setup(project: TestProject) {
  const engines = await startEngines();
  project.provide("engines", engines.endpoints);
  return () => engines.stop();
}
