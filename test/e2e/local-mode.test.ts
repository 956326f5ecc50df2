import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findFreePort } from "#local/free-port.ts";
import { descendantsOf, isAlive, type RunningCommand, startCommand } from "#test/support/child-process.ts";
import { jsonCaller, until } from "#test/support/local-http.ts";

/** The tenant `npm start` creates (idempotently) at every start. */
const TENANT = "/tenants/demo";

const dataDir = mkdtempSync(join(tmpdir(), "sw-e2e-"));
const running: RunningCommand[] = [];
afterAll(() => {
  for (const run of running.splice(0)) run.signalGroup("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

function npm(args: string[], env: Record<string, string>) {
  const run = startCommand("npm", ["run", "--silent", ...args], env);
  running.push(run);
  return run;
}

describe("local mode, as a user runs it", () => {
  it("creates a webhook, delivers API and EventBridge events verified, drives retries into the DLQ, redrives, and stops cleanly", async () => {
    const port = await findFreePort();
    const receiverPort = await findFreePort();
    const env = {
      SW_DATA_DIR: dataDir,
      SW_PORT: String(port),
      RETRY_SCHEDULE_SECONDS: "1,1",
      POWERTOOLS_LOG_LEVEL: "WARN",
    };
    const local = npm(["start"], env);
    await local.waitForOutput(/Press Ctrl-C to stop/, 90_000);
    expect(local.output()).toMatch(/Local mode allows http:\/\/ and loopback/);
    const api = `http://127.0.0.1:${port}`;
    const call = jsonCaller(api);

    const created = await call("POST", `${TENANT}/webhooks`, {
      url: `http://127.0.0.1:${receiverPort}/webhooks`,
      eventTypes: ["order.*"],
    });
    expect(created.status).toBe(201);
    const secret = created.json.secret as string;
    const startReceiver = (...flags: string[]) =>
      npm(["receiver", "--", "--port", String(receiverPort), "--secret", secret, ...flags], {}).waitForOutput(
        /receiver listening/,
        30_000,
      );

    let receiver = running.length;
    await startReceiver();
    const receiverRun = () => running[receiver] as RunningCommand;

    const published = await call("POST", `${TENANT}/events`, {
      type: "order.created",
      data: { orderId: "ord_e2e" },
    });
    expect(published).toMatchObject({ status: 202, json: { deliveries: 1 } });
    const emitted = npm(["emit", "--", "events/eventbridge/custom-order-completed.json"], env);
    expect(await emitted.waitForExit(30_000)).toBe(0);
    await receiverRun().waitForOutput(
      new RegExp(`✓ verified ${published.json.eventId} order.created`),
      30_000,
    );
    await receiverRun().waitForOutput(
      /✓ verified evt_0d6f1c9a-3b8e-4f2a-9c1d-5e7b8a9c0d1e order.completed/,
      30_000,
    );

    // The receiver now fails every attempt: the schedule (1 s, 1 s) runs out and the delivery lands in the DLQ.
    receiverRun().signalGroup("SIGTERM");
    await receiverRun().waitForExit(10_000);
    receiver = running.length;
    await startReceiver("--status", "500");
    const failing = await call("POST", `${TENANT}/events`, {
      type: "order.cancelled",
      data: { orderId: "ord_dlq" },
    });
    const eventId = failing.json.eventId as string;
    const letter = await until(async () => {
      const dlq = await call("GET", "/dlq");
      return (dlq.json.data as { eventId: string; reason: string; attempts: number }[]).find(
        (item) => item.eventId === eventId,
      );
    }, "the DLQ to hold the failing delivery");
    expect(letter).toMatchObject({ tenantId: "demo", reason: "exhausted:http_500", attempts: 3 });
    // The operator is told, through the local PutEvents endpoint.
    const told = await until(async () => {
      const events = await call("GET", "/_local/operational-events");
      return (events.json.data as { detailType: string; detail: { eventId?: string } }[]).find(
        (event) => event.detailType === "Delivery Exhausted" && event.detail.eventId === eventId,
      );
    }, "the Delivery Exhausted operational event");
    expect(told).toMatchObject({ source: "serverless-webhooks", detail: { tenantId: "demo", attempts: 3 } });
    expect(
      receiverRun()
        .output()
        .match(new RegExp(`answering 500 to ${eventId}`, "g")),
    ).toHaveLength(3);

    receiverRun().signalGroup("SIGTERM");
    await receiverRun().waitForExit(10_000);
    receiver = running.length;
    await startReceiver();
    const redriven = await call("POST", "/dlq/redrive", {});
    expect(redriven).toMatchObject({ status: 200, json: { moved: 1, left: 0 } });
    await receiverRun().waitForOutput(new RegExp(`✓ verified ${eventId} order.cancelled`), 30_000);
    const delivery = await until(async () => {
      const event = await call("GET", `${TENANT}/events/${eventId}`);
      const [first] = event.json.deliveries as { status: string; series: number }[];
      return first?.status === "delivered" ? first : undefined;
    }, "the redriven delivery to be recorded as delivered");
    expect(delivery.series).toBe(1);

    const pid = local.child.pid ?? 0;
    const children = descendantsOf(pid);
    expect(children.length).toBeGreaterThan(0);
    local.signalGroup("SIGINT");
    await local.waitForExit(30_000);
    expect(local.output()).toMatch(/stopped\./);
    expect([pid, ...children].filter(isAlive)).toEqual([]);
    expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).not.toContain(dataDir);
  });
});
