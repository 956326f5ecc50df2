/**
 * `serverless-webhooks/client`: the typed client of the Serverless Webhooks API (see docs/client.md).
 *
 *   import { createClient, listWebhooks } from "serverless-webhooks/client";
 *   const client = createClient({ baseUrl: process.env.SW_API_URL });           // IAM, default credential chain
 *   for await (const webhook of client.paginate("GET /tenants/{tenantId}/webhooks", { path: { tenantId } })) …
 */
export {
  ApiProblem,
  type Auth,
  type ClientOptions,
  createClient,
  type Item,
  type ListOperation,
  type OperationKey,
  type Operations,
  type Params,
  type Problem,
  type RawRequest,
  type RawResponse,
  type Response,
  type Result,
  type RetryOptions,
  retryAfterMs,
  WebhooksClient,
} from "./client.ts";
export * from "./operations.ts";
export { type Credentials, joinApiUrl, regionOf } from "./sigv4.ts";
