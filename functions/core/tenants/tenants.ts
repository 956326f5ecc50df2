/**
 * Tenants: the customers of the SaaS that runs this platform. Every webhook, event and delivery belongs to one,
 * and every key is partitioned by it, so one tenant's calls never read another's items.
 */
import * as z from "zod/mini";
import type { TenantResource } from "../contract/api-contract.ts";
import { ConflictError, NotFoundError } from "../shared/errors.ts";
import "../shared/zod.ts";

/** The caller's own id for the tenant (e.g. its customer id). */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_METADATA_ENTRIES = 20;
export const DEFAULT_MAX_WEBHOOKS_PER_TENANT = 50;

export const putTenantSchema = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1, "1–256 characters"), z.maxLength(256, "1–256 characters")),
  metadata: z.optional(
    z
      .record(
        z.string().check(z.minLength(1), z.maxLength(64, "keys of at most 64 characters")),
        z.string().check(z.maxLength(1024, "values of at most 1024 characters")),
      )
      .check(
        z.refine(
          (metadata) => Object.keys(metadata).length <= MAX_METADATA_ENTRIES,
          `at most ${MAX_METADATA_ENTRIES} entries`,
        ),
      ),
  ),
});
export type PutTenantInput = z.infer<typeof putTenantSchema>;

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Kept by the same transactions that create and delete webhooks: the per-tenant limit is exact. */
  readonly webhookCount: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Set while a delete is under way: the tenant is already gone for publishes and deliveries. */
  readonly deleting?: boolean | undefined;
  /** Seconds since the epoch: portal tokens issued before it are revoked (docs/portal.md). */
  readonly portalTokensNotBefore?: number | undefined;
}

export interface TenantPage {
  readonly tenants: Tenant[];
  readonly cursor?: Record<string, unknown> | undefined;
}

export interface TenantStore {
  /** Creates or updates; answers the stored tenant and whether it was created. */
  put(id: string, input: PutTenantInput, now: string): Promise<{ tenant: Tenant; created: boolean }>;
  get(id: string): Promise<Tenant | undefined>;
  list(limit: number, cursor?: Record<string, unknown>): Promise<TenantPage>;
  markDeleting(id: string, now: string): Promise<void>;
  remove(id: string): Promise<void>;
}

/** What a tenant's deletion removes besides the tenant: its webhooks with their subscriptions and secrets. */
export interface TenantContents {
  /** One page of the tenant's webhook ids (any order); empty when none is left. */
  webhookIds(tenantId: string, limit: number): Promise<string[]>;
  deleteWebhook(tenantId: string, webhookId: string): Promise<void>;
  /** Deletes up to `limit` of the tenant's events; answers how many it deleted (0: none is left). */
  deleteEvents(tenantId: string, limit: number): Promise<number>;
}

export interface TenantDeps {
  readonly tenants: TenantStore;
  readonly contents: TenantContents;
  readonly now: () => Date;
  /** How long one delete call may work before it answers that the delete goes on (API Gateway allows 29 s). */
  readonly deleteBudgetMs?: number;
}

export const isTenantId = (id: string) => TENANT_ID_PATTERN.test(id);

/** The tenant a request names, if it exists and is not being deleted; else a 404 like any unknown id. */
export async function requireTenant(tenants: Pick<TenantStore, "get">, id: string): Promise<Tenant> {
  const tenant = isTenantId(id) ? await tenants.get(id) : undefined;
  if (!tenant || tenant.deleting) throw new NotFoundError(`tenant ${id.slice(0, 64)}`);
  return tenant;
}

export function tenantResource(tenant: Tenant): TenantResource {
  return {
    id: tenant.id,
    name: tenant.name,
    metadata: { ...tenant.metadata },
    webhookCount: tenant.webhookCount,
    createdAt: tenant.createdAt,
    updatedAt: tenant.updatedAt,
  };
}

export async function putTenant(id: string, input: PutTenantInput, deps: TenantDeps) {
  if (!isTenantId(id)) throw new NotFoundError(`tenant ${id.slice(0, 64)}`);
  const existing = await deps.tenants.get(id);
  if (existing?.deleting) throw new ConflictError(`tenant ${id} is being deleted; try again when it is gone`);
  return deps.tenants.put(id, input, deps.now().toISOString());
}

/**
 * Deletes a tenant: first marks it (publishes answer 404, and waiting deliveries end `dropped` as
 * `tenant_deleted`, from then on), then removes its webhooks with their subscriptions and secrets, and its events
 * (so that a tenant created again under the same id starts empty), then the tenant. Answers `complete: false`
 * when the budget ran out first: the tenant stays marked, and repeating the delete goes on where it stopped.
 * Deliveries and attempts are left to expire (`RETENTION_DAYS`): no route reaches them once their tenant is gone,
 * nor from a tenant created again later (they are older than it).
 */
export async function deleteTenant(id: string, deps: TenantDeps): Promise<{ complete: boolean }> {
  const tenant = isTenantId(id) ? await deps.tenants.get(id) : undefined;
  if (!tenant) throw new NotFoundError(`tenant ${id.slice(0, 64)}`);
  if (!tenant.deleting) await deps.tenants.markDeleting(id, deps.now().toISOString());
  const deadline = deps.now().getTime() + (deps.deleteBudgetMs ?? 20_000);
  const inTime = () => deps.now().getTime() < deadline;
  for (;;) {
    const ids = await deps.contents.webhookIds(id, 25);
    if (ids.length === 0) break;
    await Promise.all(ids.map((webhookId) => deps.contents.deleteWebhook(id, webhookId)));
    if (!inTime()) return { complete: false };
  }
  while ((await deps.contents.deleteEvents(id, 100)) > 0) if (!inTime()) return { complete: false };
  await deps.tenants.remove(id);
  return { complete: true };
}
