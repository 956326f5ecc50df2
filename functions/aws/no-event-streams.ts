/**
 * Stands in for `@smithy/core/event-streams` in the Lambda bundles: the SDK loads it only for operations that
 * stream events, and none of the APIs this project calls (DynamoDB, SQS, Secrets Manager) has one. About 9 KB less
 * in every bundle. Reached anyway, it fails loudly rather than misbehave.
 */
const unsupported = (): never => {
  throw new Error("event streams are not bundled: no API this project calls uses them");
};

export class EventStreamSerde {
  constructor() {
    unsupported();
  }
}

export const eventStreamSerdeProvider = unsupported;
