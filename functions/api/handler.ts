import { parseConfig } from "#core/shared/config.ts";
import { createApiHandler } from "./create-handler.ts";
import { createApiRuntime } from "./runtime.ts";

export const handler = createApiHandler(createApiRuntime(parseConfig(process.env)));
