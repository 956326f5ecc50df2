import { describe, expect, it } from "vitest";
import { tenantOf } from "#core/publishing/eventbridge.ts";
import { ConflictError, NotFoundError } from "#core/shared/errors.ts";
import {
  deleteTenant,
  type PutTenantInput,
  putTenant,
  putTenantSchema,
  type Tenant,
  type TenantDeps,
} from "#core/tenants/tenants.ts";

const NOW = new Date("2026-11-28T12:00:00Z");

describe("tenantOf (EventBridge routing)", () => {
  const PATH = "detail.tenantId";

  it("takes the tenant at the path, over any default", () => {
    expect(tenantOf({ detail: { tenantId: "acme" } }, PATH)).toEqual({ tenantId: "acme" });
    expect(tenantOf({ detail: { tenantId: "acme" } }, PATH, "fallback")).toEqual({ tenantId: "acme" });
    expect(tenantOf({ detail: { customer: { tenant: "acme.eu-1" } } }, "detail.customer.tenant")).toEqual({
      tenantId: "acme.eu-1",
    });
    expect(tenantOf({ detail: { tenantId: "a".repeat(64) } }, PATH)).toEqual({ tenantId: "a".repeat(64) });
  });

  it("without a value at the path, takes the default, or is unroutable (missing_tenant) when there is none", () => {
    const absent = [{ detail: {} }, { detail: { tenantId: null } }, { detail: "text" }, { detail: [1] }];
    for (const event of absent) {
      expect(tenantOf(event, PATH, "fallback"), JSON.stringify(event)).toEqual({ tenantId: "fallback" });
      const routing = tenantOf(event, PATH);
      expect(routing, JSON.stringify(event)).toMatchObject({ unroutable: "missing_tenant" });
      expect("detail" in routing && routing.detail).toContain(PATH);
    }
    // Another path than the one configured is not looked at.
    expect(tenantOf({ detail: { tenantId: "acme" } }, "detail.tenant")).toMatchObject({
      unroutable: "missing_tenant",
    });
  });

  it("refuses a value that cannot be a tenant id (invalid_tenant), and never replaces it by the default", () => {
    const invalid: unknown[] = [
      "",
      "has space",
      "a/b",
      "a".repeat(65),
      "ténant",
      42,
      true,
      ["acme"],
      { id: "acme" },
    ];
    for (const value of invalid) {
      for (const fallback of [undefined, "fallback"]) {
        const routing = tenantOf({ detail: { tenantId: value } }, PATH, fallback);
        expect(routing, `${JSON.stringify(value)} ${fallback}`).toMatchObject({
          unroutable: "invalid_tenant",
        });
        expect("tenantId" in routing, JSON.stringify(value)).toBe(false);
      }
    }
  });
});

describe("putTenantSchema", () => {
  const entries = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, n) => [`k${n}`, "v"]));
  const accepts = (input: unknown) => putTenantSchema.safeParse(input).success;

  it("takes a name of 1–256 characters (trimmed)", () => {
    expect(putTenantSchema.parse({ name: "  Acme Inc. " })).toEqual({ name: "Acme Inc." });
    expect(accepts({ name: "a" })).toBe(true);
    expect(accepts({ name: "a".repeat(256) })).toBe(true);
    for (const name of ["", "   ", "a".repeat(257), 7, null])
      expect(accepts({ name }), String(name)).toBe(false);
    expect(accepts({})).toBe(false);
  });

  it("takes up to 20 metadata entries, keys of 1–64 characters and string values of at most 1024", () => {
    expect(putTenantSchema.parse({ name: "A", metadata: entries(20) }).metadata).toEqual(entries(20));
    expect(accepts({ name: "A", metadata: { ["k".repeat(64)]: "v".repeat(1024) } })).toBe(true);
    expect(accepts({ name: "A", metadata: {} })).toBe(true);
    const refused: Record<string, unknown>[] = [
      entries(21),
      { ["k".repeat(65)]: "v" },
      { "": "v" },
      { k: "v".repeat(1025) },
      { k: 1 },
      { k: { nested: "v" } },
    ];
    for (const metadata of refused) {
      const parsed = putTenantSchema.safeParse({ name: "A", metadata });
      expect(parsed.success, JSON.stringify(metadata).slice(0, 80)).toBe(false);
      expect(parsed.error?.issues[0]?.path[0]).toBe("metadata");
    }
  });

  it("refuses unknown fields", () => {
    expect(accepts({ name: "A", plan: "gold" })).toBe(false);
  });
});

/** An in-memory tenant store and webhooks, logging every call in order. */
function tenantPorts(webhooksOf: Record<string, number>) {
  const log: string[] = [];
  const tenants = new Map<string, Tenant>(
    Object.entries(webhooksOf).map(([id, count]) => [
      id,
      {
        id,
        name: id,
        metadata: {},
        webhookCount: count,
        createdAt: NOW.toISOString(),
        updatedAt: NOW.toISOString(),
      },
    ]),
  );
  const webhooks = new Map(
    Object.entries(webhooksOf).map(([id, count]) => [
      id,
      new Set(Array.from({ length: count }, (_, n) => `wh_${id}_${n}`)),
    ]),
  );
  /** Whether the tenant was marked deleting when each of its webhooks was deleted. */
  const markedAtDelete: boolean[] = [];
  let failDeletes = 0;
  const deps: TenantDeps = {
    tenants: {
      put: async (id: string, input: PutTenantInput, now: string) => {
        log.push(`put ${id} ${now}`);
        const previous = tenants.get(id);
        const tenant: Tenant = {
          id,
          name: input.name,
          metadata: input.metadata ?? {},
          webhookCount: previous?.webhookCount ?? 0,
          createdAt: previous?.createdAt ?? now,
          updatedAt: now,
        };
        tenants.set(id, tenant);
        return { tenant, created: previous === undefined };
      },
      get: async (id) => {
        log.push(`get ${id}`);
        return tenants.get(id);
      },
      list: async () => ({ tenants: [...tenants.values()] }),
      markDeleting: async (id, now) => {
        log.push(`mark ${id} ${now}`);
        const tenant = tenants.get(id);
        if (tenant) tenants.set(id, { ...tenant, deleting: true, updatedAt: now });
      },
      remove: async (id) => {
        log.push(`remove ${id}`);
        tenants.delete(id);
      },
    },
    contents: {
      deleteEvents: async () => 0,
      webhookIds: async (tenantId, limit) => {
        const page = [...(webhooks.get(tenantId) ?? [])].slice(0, limit);
        log.push(`page ${tenantId} ${page.length}`);
        return page;
      },
      deleteWebhook: async (tenantId, webhookId) => {
        if (failDeletes > 0) {
          failDeletes -= 1;
          throw new Error("TransactionCanceled");
        }
        markedAtDelete.push(tenants.get(tenantId)?.deleting === true);
        log.push(`delete ${tenantId} ${webhookId}`);
        webhooks.get(tenantId)?.delete(webhookId);
      },
    },
    now: () => NOW,
  };
  return { deps, log, tenants, webhooks, markedAtDelete, failNextDeletes: (n: number) => (failDeletes = n) };
}

describe("deleteTenant", () => {
  it("marks the tenant first, then removes its webhooks page by page, then the tenant; no other tenant's", async () => {
    const ports = tenantPorts({ t_1: 60, t_2: 3 });
    await deleteTenant("t_1", ports.deps);

    const calls = ports.log.map((entry) => entry.split(" ")[0]);
    expect(ports.log.slice(0, 2)).toEqual(["get t_1", `mark t_1 ${NOW.toISOString()}`]);
    expect(ports.log.at(-1)).toBe("remove t_1");
    expect(calls.filter((call) => call === "remove")).toHaveLength(1);
    // Page by page: each page's webhooks are deleted before the next page is asked for, until one is empty.
    const pages = ports.log.flatMap((entry, index) => (entry.startsWith("page") ? [index] : []));
    expect(ports.log[pages.at(-1) ?? -1]).toBe("page t_1 0");
    expect(pages.length).toBeGreaterThan(2);
    for (const [n, start] of pages.slice(0, -1).entries()) {
      const size = Number(ports.log[start]?.split(" ")[2]);
      expect(size).toBeGreaterThan(0);
      expect(ports.log.slice(start + 1, pages[n + 1])).toHaveLength(size);
      expect(calls.slice(start + 1, pages[n + 1]).every((call) => call === "delete")).toBe(true);
    }
    expect(calls.filter((call) => call === "delete")).toHaveLength(60);
    expect(ports.markedAtDelete.every(Boolean)).toBe(true);

    expect(ports.webhooks.get("t_1")?.size).toBe(0);
    expect(ports.tenants.has("t_1")).toBe(false);
    expect(ports.webhooks.get("t_2")?.size).toBe(3);
    expect(ports.tenants.get("t_2")?.deleting).toBeUndefined();
    expect(ports.log.some((entry) => entry.includes("t_2"))).toBe(false);
  });

  it("stopped midway, leaves the tenant marked (gone for publishes); repeated, finishes without marking it again", async () => {
    const ports = tenantPorts({ t_1: 30 });
    ports.failNextDeletes(1);
    await expect(deleteTenant("t_1", ports.deps)).rejects.toThrow("TransactionCanceled");
    expect(ports.tenants.get("t_1")?.deleting).toBe(true);
    expect(ports.log).not.toContain("remove t_1");

    ports.log.length = 0;
    await deleteTenant("t_1", ports.deps);
    expect(ports.log.filter((entry) => entry.startsWith("mark"))).toEqual([]);
    expect(ports.log.at(-1)).toBe("remove t_1");
    expect(ports.webhooks.get("t_1")?.size).toBe(0);
    expect(ports.tenants.has("t_1")).toBe(false);
  });

  it("answers 404 for a tenant that does not exist, or an id that cannot be one, and changes nothing", async () => {
    const ports = tenantPorts({ t_1: 2 });
    await expect(deleteTenant("t_unknown", ports.deps)).rejects.toBeInstanceOf(NotFoundError);
    await expect(deleteTenant("not/an id", ports.deps)).rejects.toBeInstanceOf(NotFoundError);
    expect(ports.log).toEqual(["get t_unknown"]);
    expect(ports.webhooks.get("t_1")?.size).toBe(2);
  });
});

describe("putTenant", () => {
  it("creates or updates a tenant at the caller's time", async () => {
    const ports = tenantPorts({});
    const { tenant } = await putTenant("acme", { name: "Acme", metadata: { tier: "gold" } }, ports.deps);
    expect(tenant).toMatchObject({ id: "acme", name: "Acme", metadata: { tier: "gold" } });
    expect(ports.log).toEqual(["get acme", `put acme ${NOW.toISOString()}`]);
  });

  it("refuses a tenant being deleted (409) and an id that cannot be one (404), storing nothing", async () => {
    const ports = tenantPorts({ t_1: 0 });
    await ports.deps.tenants.markDeleting("t_1", NOW.toISOString());
    await expect(putTenant("t_1", { name: "Back" }, ports.deps)).rejects.toBeInstanceOf(ConflictError);
    await expect(putTenant("a".repeat(65), { name: "Long" }, ports.deps)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(ports.log.filter((entry) => entry.startsWith("put"))).toEqual([]);
  });
});
