/**
 * The portal over a test pipeline: a key set in the Secrets Manager emulator, the real portal function, the
 * management API's session routes and the portal API (`/portal/api/…`) through the local gateway shims.
 */
import { randomBytes } from "node:crypto";
import { CreateSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { createPortalHandler } from "#functions/portal/create-handler.ts";
import { parsePortalConfig } from "#functions/portal/portal-config.ts";
import { createLocalApi, createLocalPortalApi } from "#local/api-gateway.ts";
import { uniquePrefix } from "./local-aws.ts";
import type { Pipeline } from "./pipeline.ts";

export const PORTAL_URL = "https://portal.example.test/";

export const newKey = () => randomBytes(32).toString("base64url");

export async function startPortal(pipeline: Pipeline, environment: Record<string, string> = {}) {
  const secretId = `serverless-webhooks/${uniquePrefix()}/portal-signing-keys`;
  const keys: Record<string, string> = { k1: newKey() };
  await pipeline.clients.secretsManager.send(
    new CreateSecretCommand({ Name: secretId, SecretString: JSON.stringify({ current: "k1", ...keys }) }),
  );
  const config = parsePortalConfig({ PORTAL_KEY_SECRET_ID: secretId, PORTAL_URL, ...environment });
  const handler = createPortalHandler(pipeline.portalRuntime(config), config);
  const invoke = (event: APIGatewayProxyEvent) => handler(event, {} as never);
  const management = createLocalApi({
    api: async () => {
      throw new Error("only the portal's routes here");
    },
    publish: async () => {
      throw new Error("only the portal's routes here");
    },
    portal: invoke,
  });
  const portalApi = createLocalPortalApi(invoke, "/portal");
  const parse = (response: { statusCode: number; headers: Record<string, string>; body: string }) => ({
    status: response.statusCode,
    headers: response.headers,
    body: response.body,
    json: (response.body === "" ? {} : JSON.parse(response.body)) as Record<string, unknown> & {
      data?: Record<string, unknown>[];
      errors?: { field: string; message: string }[];
    },
  });
  return {
    config,
    secretId,
    keys,
    /** The operator's `POST /tenants/{id}/portal-sessions` (IAM on AWS). */
    async mint(tenantId: string, body: unknown = {}) {
      return parse(
        await management({
          method: "POST",
          url: `/tenants/${tenantId}/portal-sessions`,
          headers: { "content-type": "application/json" },
          body: typeof body === "string" ? body : JSON.stringify(body),
        }),
      );
    },
    async revoke(tenantId: string) {
      return parse(await management({ method: "POST", url: `/tenants/${tenantId}/portal-sessions/revoke` }));
    },
    /** A token for the tenant (all capabilities unless narrowed). */
    async token(tenantId: string, body: unknown = {}) {
      const minted = await this.mint(tenantId, body);
      if (minted.status !== 201) throw new Error(`mint: ${minted.status} ${minted.body}`);
      return minted.json.token as string;
    },
    /** A portal API call with `Authorization: <authorization>` (a bearer token unless it has a scheme). */
    async call(authorization: string | undefined, method: string, path: string, body?: unknown) {
      return parse(
        await portalApi({
          method,
          url: `/portal/api${path}`,
          headers: {
            ...(authorization === undefined
              ? {}
              : { authorization: /\s/.test(authorization) ? authorization : `Bearer ${authorization}` }),
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      );
    },
    /** Makes `next` the current key and the present current one the previous. */
    async rotateKey(next: string) {
      const current = Object.keys(keys).at(-1) as string;
      keys[next] = newKey();
      await pipeline.clients.secretsManager.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: JSON.stringify({ current: next, previous: current, ...keys }),
        }),
      );
    },
  };
}

export type Portal = Awaited<ReturnType<typeof startPortal>>;
