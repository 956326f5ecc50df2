/**
 * `secretStorage: "sealed"` end to end: the api creates and rotates webhooks' secrets as sealed items in the table
 * (no Secrets Manager secret per webhook), the deliver function opens them and signs, the receiver verifies with
 * the secret the api revealed; no item in the table holds a secret in the clear, and deleting the webhook deletes
 * its sealed versions.
 */
import { DescribeSecretCommand, ResourceNotFoundException } from "@aws-sdk/client-secrets-manager";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretOwner } from "#core/signing/signing-secrets.ts";
import { verifyWebhook } from "#core/signing/webhook-verifier.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

let pipeline: Pipeline;
let receiver: Receiver;

beforeAll(async () => {
  pipeline = await startPipeline({ environment: { SECRET_STORAGE: "sealed" } });
  receiver = await startReceiver(() => ({ status: 204 }));
});
afterAll(async () => {
  pipeline?.close();
  await receiver?.close();
});

const tableItems = async () => {
  const { Items = [] } = await pipeline.clients.documents.send(
    new ScanCommand({ TableName: pipeline.resources.tableName }),
  );
  return Items;
};

describe("sealed signing secrets through the api and the deliver function", () => {
  it("deliveries are signed with the revealed secret, before and after a rotation with a grace period", async () => {
    const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
      url: receiver.url,
      eventTypes: ["sealed.*"],
    });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    const first = created.json.secret as string;

    const one = await pipeline.publishApi({ type: "sealed.one", data: { n: 1 } });
    await pipeline.drain();
    const rotated = await pipeline.api("POST", pipeline.under(`/webhooks/${id}/rotate-secret`), {
      gracePeriodSeconds: 600,
    });
    expect(rotated.status).toBe(200);
    const second = rotated.json.secret as string;
    expect(second).not.toBe(first);
    const two = await pipeline.publishApi({ type: "sealed.two", data: { n: 2 } });
    await pipeline.drain();

    const byEvent = new Map(receiver.requests.map((request) => [request.headers["webhook-id"], request]));
    const verify = (eventId: unknown, secret: string) => {
      const request = byEvent.get(String(eventId));
      if (!request) throw new Error(`no delivery of ${String(eventId)}`);
      return verifyWebhook({ headers: request.headers, body: request.body, secrets: [secret] }).id;
    };
    expect(verify(one.json.eventId, first)).toBe(one.json.eventId);
    expect(() => verify(one.json.eventId, second)).toThrow();
    // In the grace window both secrets sign: a receiver holding either one verifies.
    expect(verify(two.json.eventId, first)).toBe(two.json.eventId);
    expect(verify(two.json.eventId, second)).toBe(two.json.eventId);

    // No Secrets Manager secret for the webhook, and no secret in the clear anywhere in the table.
    const perWebhook = await pipeline.clients.secretsManager
      .send(
        new DescribeSecretCommand({
          SecretId: `${pipeline.config.secretNamePrefix}${secretOwner(pipeline.tenantId, id)}`,
        }),
      )
      .catch((error: unknown) => error);
    expect(perWebhook).toBeInstanceOf(ResourceNotFoundException);
    const dump = JSON.stringify(await tableItems());
    for (const secret of [first, second]) expect(dump).not.toContain(secret.slice("whsec_".length));
    expect(dump).toContain(`SECRET#${secretOwner(pipeline.tenantId, id)}`);

    expect((await pipeline.api("DELETE", pipeline.under(`/webhooks/${id}`))).status).toBe(204);
    const left = (await tableItems()).filter((item) =>
      String(item.pk).startsWith(`SECRET#${secretOwner(pipeline.tenantId, id)}`),
    );
    expect(left).toEqual([]);
  });
});
