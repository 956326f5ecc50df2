/**
 * The deliver Lambda and its event source mapping as a process of its own, configured from the environment like
 * the Lambda (plus SW_DELIVERY_QUEUE_ARN and SW_POLLERS, the number of concurrent batches). The chaos suite kills
 * and restarts it; it can also scale local delivery out to several processes.
 */

import { createSqsClient } from "#aws/clients.ts";
import { clientConfigOf } from "#aws/runtime.ts";
import { parseConfig } from "#core/shared/config.ts";
import { createDeliverHandler } from "#functions/deliver/create-handler.ts";
import { createDeliverRuntime } from "#functions/deliver/runtime.ts";
import { createQueuePoller } from "./queue-poller.ts";

const runtime = createDeliverRuntime(parseConfig(process.env));
// The event source mapping's own client, as on Lambda (not the function's).
const mappingSqs = createSqsClient(clientConfigOf(runtime.config));
const deliver = createDeliverHandler(runtime);
const pollers = Array.from({ length: Number(process.env.SW_POLLERS ?? 1) }, () =>
  createQueuePoller({
    sqs: mappingSqs,
    queueUrl: runtime.config.deliveryQueueUrl,
    queueArn: process.env.SW_DELIVERY_QUEUE_ARN ?? "arn:aws:sqs:local:000000000000:delivery",
    handler: (event) => deliver(event, {} as never),
    waitTimeSeconds: 1,
    onError: (error) =>
      runtime.logger.warn("poll failed", { error: error instanceof Error ? error.name : String(error) }),
  }),
);
for (const poller of pollers) poller.start();
console.log(`delivery worker ${process.pid} polling with ${pollers.length} poller(s)`);

const stop = async () => {
  await Promise.all(pollers.map((poller) => poller.stop()));
  runtime.http.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
