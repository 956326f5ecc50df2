import { createRuntime } from "#aws/runtime.ts";
import { parseConfig } from "#core/shared/config.ts";
import { createApiHandler } from "./create-handler.ts";

export const handler = createApiHandler(createRuntime(parseConfig(process.env)));
