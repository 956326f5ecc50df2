import { parseConfig } from "#core/shared/config.ts";
import { createPublishHandler } from "./create-handler.ts";
import { createPublishRuntime } from "./runtime.ts";

export const handler = createPublishHandler(createPublishRuntime(parseConfig(process.env)));
