import { Logger } from "@aws-lambda-powertools/logger";
import { describe, expect, it } from "vitest";
import { captureOutput } from "#test/support/capture-output.ts";
import { startPipeline } from "#test/support/pipeline.ts";
import { startReceiver } from "#test/support/receivers.ts";

describe("secrets in responses and logs", () => {
  it("appear only in the create and rotate responses, never in another response or any log line", async () => {
    const pipeline = await startPipeline({
      schedule: "1",
      runtime: { logger: new Logger({ serviceName: "serverless-webhooks", logLevel: "DEBUG" }) },
    });
    const receiver = await startReceiver((_, index) => ({ status: index % 2 === 0 ? 500 : 200 }));
    const allowed: string[] = [];
    const others: string[] = [];
    const { output } = await captureOutput(async () => {
      const call = async (method: string, url: string, body?: unknown, mayShowSecret = false) => {
        const response = await pipeline.api(method, url, body);
        (mayShowSecret ? allowed : others).push(response.body);
        return response;
      };
      const created = await call(
        "POST",
        pipeline.under("/webhooks"),
        { url: receiver.url, eventTypes: ["scan.*"], signatureScheme: "standard+github" },
        true,
      );
      const id = created.json.id as string;
      await call("POST", pipeline.under(`/webhooks/${id}/rotate-secret`), { gracePeriodSeconds: 600 }, true);
      const published = await pipeline.publishApi({ type: "scan.run", data: { n: 1 } });
      others.push(JSON.stringify(published.json));
      await call("POST", pipeline.under(`/webhooks/${id}/test`));
      await pipeline.drain();
      const event = await call("GET", pipeline.under(`/events/${published.json.eventId}`));
      const deliveryId = (event.json.deliveries as { id: string }[])[0]?.id ?? "";
      await call("GET", pipeline.under("/webhooks"));
      await call("GET", pipeline.under(`/webhooks/${id}`));
      await call("GET", pipeline.under(`/webhooks?event_type=scan.run`));
      await call("PATCH", pipeline.under(`/webhooks/${id}`), { description: "scanned" });
      await call("PATCH", pipeline.under(`/webhooks/${id}`), { url: "ftp://nope" });
      await call("GET", pipeline.under(`/webhooks/${id}/attempts`));
      await call("GET", pipeline.under(`/deliveries/${deliveryId}`));
      await call("GET", pipeline.under(`/deliveries/${deliveryId}/attempts`));
      await call("POST", pipeline.under(`/deliveries/${deliveryId}/retry`));
      await call("POST", pipeline.under(`/webhooks/${id}/recover`), {
        since: new Date(Date.now() - 60_000).toISOString(),
      });
      await call("GET", "/dlq");
      await call("GET", `/dlq?tenant_id=${pipeline.tenantId}`);
      await call("POST", "/dlq/redrive", {});
      await pipeline.drain();
      await call("GET", "/tenants");
      await call("GET", `/tenants/${pipeline.tenantId}`);
      await call("PUT", `/tenants/${pipeline.tenantId}`, { name: "Renamed", metadata: { plan: "pro" } });
      await call("GET", pipeline.under("/events"));
      await call("DELETE", pipeline.under(`/webhooks/${id}`));
      // A tenant deleted with a webhook (and its secret) still in it.
      await call(
        "POST",
        pipeline.under("/webhooks"),
        { url: receiver.url, eventTypes: ["scan.*"], signatureScheme: "standard+github" },
        true,
      );
      expect((await call("DELETE", `/tenants/${pipeline.tenantId}`)).status).toBe(204);
    });
    const secrets = allowed.map((body) => (JSON.parse(body) as { secret: string }).secret);
    expect(secrets).toHaveLength(3);
    expect(others.length).toBeGreaterThan(20);
    for (const secret of secrets) {
      const key = secret.slice("whsec_".length);
      for (const body of others) expect(body).not.toContain(key);
      expect(output).not.toContain(key);
    }
    expect(output).toContain('"level"');
    pipeline.close();
    await receiver.close();
  });
});
