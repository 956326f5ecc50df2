import { createRuntime } from "#aws/runtime.ts";
import { parseConfig } from "#core/shared/config.ts";
import { createPublishHandler } from "./create-handler.ts";

export const handler = createPublishHandler(createRuntime(parseConfig(process.env)));
