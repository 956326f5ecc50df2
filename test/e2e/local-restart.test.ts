/**
 * Local mode survives a restart: `npm start` is killed with a delivery waiting for its retry and another in the
 * DLQ; after a new `npm start` on the same data folder the retry happens on schedule and the letter can be
 * redriven. Both end delivered, each with one chain of attempts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findFreePort } from "#local/free-port.ts";
import { type RunningCommand, startCommand } from "#test/support/child-process.ts";
import { jsonCaller, until } from "#test/support/local-http.ts";
import { startReceiver } from "#test/support/receivers.ts";

/** The tenant `npm start` creates (idempotently) at every start. */
const TENANT = "/tenants/demo";

const dataDir = mkdtempSync(join(tmpdir(), "sw-restart-"));
const running: RunningCommand[] = [];
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const run of running.splice(0)) run.signalGroup("SIGKILL");
  for (const close of closers.splice(0)) await close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("local mode across a restart", () => {
  it("a delivery mid-retry and one in the DLQ both finish after npm start is killed and started again", async () => {
    const port = await findFreePort();
    const env = {
      SW_DATA_DIR: dataDir,
      SW_PORT: String(port),
      RETRY_SCHEDULE_SECONDS: "12",
      POWERTOOLS_LOG_LEVEL: "WARN",
    };
    const start = async () => {
      const run = startCommand("npm", ["run", "--silent", "start"], env);
      running.push(run);
      await run.waitForOutput(/Press Ctrl-C to stop/, 90_000);
      return run;
    };
    let failing = true;
    const receiver = await startReceiver(() => ({ status: failing ? 500 : 204 }));
    closers.push(() => receiver.close());
    const api = `http://127.0.0.1:${port}`;
    const call = jsonCaller(api);

    let local = await start();
    const retried = await call("POST", `${TENANT}/webhooks`, {
      url: `${receiver.url}?w=retry`,
      eventTypes: ["retry.*"],
    });
    const parked = await call("POST", `${TENANT}/webhooks`, {
      url: `${receiver.url}?w=dlq`,
      eventTypes: ["dlq.*"],
      maxAttempts: 1,
    });
    expect([retried.status, parked.status]).toEqual([201, 201]);
    const retryEvent = String(
      (await call("POST", `${TENANT}/events`, { type: "retry.me", data: {} })).json.eventId,
    );
    const dlqEvent = String(
      (await call("POST", `${TENANT}/events`, { type: "dlq.me", data: {} })).json.eventId,
    );
    await until(async () => {
      const dlq = await call("GET", "/dlq");
      return (
        (dlq.json.data as { eventId: string }[]).some((letter) => letter.eventId === dlqEvent) || undefined
      );
    }, "the letter in the DLQ");
    await until(async () => {
      const event = await call("GET", `${TENANT}/events/${retryEvent}`);
      const [delivery] = event.json.deliveries as { status: string }[];
      return delivery?.status === "retrying" || undefined;
    }, "the first delivery to wait for its retry");
    // Let the journal write its once-a-second snapshot, then kill everything without a chance to clean up.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    local.signalGroup("SIGKILL");
    await local.waitForExit(15_000);
    expect(receiver.requests.map((request) => request.path)).toEqual(["/hooks?w=retry", "/hooks?w=dlq"]);

    failing = false;
    local = await start();
    const dlq = await call("GET", "/dlq");
    expect(dlq.json.data).toMatchObject([
      { tenantId: "demo", eventId: dlqEvent, reason: "exhausted:http_500" },
    ]);
    expect(await call("POST", "/dlq/redrive", {})).toMatchObject({ status: 200, json: { moved: 1 } });

    for (const eventId of [retryEvent, dlqEvent]) {
      await until(async () => {
        const event = await call("GET", `${TENANT}/events/${eventId}`);
        const [delivery] = event.json.deliveries as { status: string }[];
        return delivery?.status === "delivered" || undefined;
      }, `${eventId} delivered after the restart`);
    }
    const attempts = (path: string) =>
      receiver.requests.filter((request) => request.path === path).map((r) => r.headers["x-webhook-attempt"]);
    expect(attempts("/hooks?w=retry")).toEqual(["1", "2"]);
    expect(attempts("/hooks?w=dlq")).toEqual(["1", "1"]);
    local.signalGroup("SIGINT");
    await local.waitForExit(30_000);
  });
});
