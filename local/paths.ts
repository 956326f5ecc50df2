/** Where the local stack accepts EventBridge-shaped events (what a rule would hand to the publish Lambda). */
export const EVENTBRIDGE_PATH = "/_local/eventbridge";

/** The tenant `npm start` creates (idempotent), which the README tour uses. */
export const DEMO_TENANT_ID = "demo";
