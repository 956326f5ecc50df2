import { parseConfig } from "#core/shared/config.ts";
import { createPortalHandler } from "./create-handler.ts";
import { parsePortalConfig } from "./portal-config.ts";
import { createPortalRuntime } from "./runtime.ts";

const portal = parsePortalConfig(process.env);
export const handler = createPortalHandler(createPortalRuntime(parseConfig(process.env), portal), portal);
