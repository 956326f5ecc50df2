import { createManagementRuntime } from "#aws/management-runtime.ts";
import { parseConfig } from "#core/shared/config.ts";
import { createPortalHandler } from "./create-handler.ts";
import { parsePortalConfig } from "./portal-config.ts";

export const handler = createPortalHandler(
  createManagementRuntime(parseConfig(process.env)),
  parsePortalConfig(process.env),
);
