import { parseConfig } from "#core/shared/config.ts";
import { createReconcileHandler } from "./create-handler.ts";
import { createReconcileRuntime } from "./runtime.ts";

export const handler = createReconcileHandler(createReconcileRuntime(parseConfig(process.env)));
