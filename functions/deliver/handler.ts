import { createRuntime } from "#aws/runtime.ts";
import { parseConfig } from "#core/shared/config.ts";
import { createDeliverHandler } from "./create-handler.ts";

export const handler = createDeliverHandler(createRuntime(parseConfig(process.env)));
