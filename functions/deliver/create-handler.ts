/** Deliver Lambda: an SQS batch in, `batchItemFailures` out (the event source mapping deletes the rest). */
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { deliverBatch } from "#core/delivery/deliver.ts";
import { BatchMetrics, type DeliverRuntime, deliverDeps } from "./runtime.ts";

export function createDeliverHandler(runtime: DeliverRuntime) {
  return middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const metrics = new BatchMetrics(runtime.metrics);
    try {
      return await deliverBatch(
        event.Records.map(({ messageId, receiptHandle, body, attributes }) => ({
          messageId,
          receiptHandle,
          body,
          receiveCount: Number(attributes?.ApproximateReceiveCount) || undefined,
        })),
        deliverDeps(runtime, metrics),
      );
    } finally {
      metrics.flush();
    }
  }).use(injectLambdaContext(runtime.logger));
}
