import { parseConfig } from "#core/shared/config.ts";
import { createDeliverHandler } from "./create-handler.ts";
import { createDeliverRuntime } from "./runtime.ts";

export const handler = createDeliverHandler(createDeliverRuntime(parseConfig(process.env)));
