/** Identifiers: ULIDs (time-ordered, 26 Crockford base32 characters) with a type prefix. */
import { createHash, randomBytes } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encodeBase32(bytes: Uint8Array, length: number): string {
  let bits = 0;
  let value = 0;
  let output = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && output.length < length) {
      output += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return output;
}

/** A ULID: 48-bit millisecond timestamp + 80 random bits. */
export function ulid(now = Date.now()): string {
  let time = "";
  let remaining = now;
  for (let index = 0; index < 10; index += 1) {
    time = CROCKFORD[remaining % 32] + time;
    remaining = Math.floor(remaining / 32);
  }
  return time + encodeBase32(randomBytes(10), 16);
}

/**
 * What ids look like wherever they appear in keys (regular-expression sources, to compose patterns from): the
 * type prefix, then letters, digits, `_` and `-`, 64 characters in all at most — the shape the API accepts in a
 * path. Ids minted here are ULIDs or digests, but a record created otherwise (an import, a test) need only fit
 * this, and a cursor the API handed out must always be accepted back.
 */
export const ID_SOURCES = {
  webhook: "wh_[A-Za-z0-9_-]{1,61}",
  delivery: "dlv_[A-Za-z0-9_-]{1,60}",
} as const;

export const newEventId = () => `evt_${ulid()}`;
export const newWebhookId = () => `wh_${ulid()}`;

/**
 * The delivery of one event to one webhook. Derived, not random, so that a repeated fan-out of the same event
 * (a retried publish) addresses the same delivery and never creates a second one.
 */
export function deliveryIdFor(eventId: string, webhookId: string): string {
  const digest = createHash("sha256").update(eventId).update("\u0000").update(webhookId).digest();
  return `dlv_${encodeBase32(digest, 26)}`;
}
