import { createRuntime } from "#aws/runtime.ts";
import { parseConfig } from "#core/shared/config.ts";
import { createReconcileHandler } from "./create-handler.ts";

export const handler = createReconcileHandler(createRuntime(parseConfig(process.env)));
