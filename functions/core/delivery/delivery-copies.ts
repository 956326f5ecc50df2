/**
 * At most one live chain of attempts per delivery, whatever the queue holds.
 *
 * SQS is at-least-once, a publish may be repeated after a crash mid-fan-out, the reconciler re-enqueues stranded
 * work, and a manual retry, a recover or a redrive starts a new series. Each of these can leave two messages for
 * one delivery in the queue. Every message therefore carries the (series, copy) it belongs to, and so does the
 * delivery record once a message was attempted:
 *   - a new series (manual retry, recover, redrive) has a higher `series` and restarts the attempt count;
 *   - a new copy of the same series (a repeated fan-out, the reconciler) has a higher `copy` and takes the
 *     live chain over, attempt count included;
 *   - a message below the record is a superseded duplicate and is deleted without a request to the receiver.
 * The ordering decides which copy owns a delivery; the ledger's write (one transaction per batch, each delivery
 * conditional on the record its batch read) settles two copies that read the same record at the same instant.
 */
import type { Delivery, DeliveryMessage } from "../shared/model.ts";

export type CopyStanding =
  /** No record yet, or this message starts a newer series: attempt from zero. */
  | "fresh"
  /** The record's own chain (or a newer copy taking over a live one): continue its attempt count. */
  | "current"
  /** A duplicate the record has moved past: delete it, send nothing. */
  | "superseded";

const seriesOf = (item: { series?: number | undefined }) => item.series ?? 0;
const copyOf = (item: { copy?: number | undefined }) => item.copy ?? 0;

export function copyStanding(message: DeliveryMessage, record: Delivery | undefined): CopyStanding {
  if (!record) return "fresh";
  if (seriesOf(message) > seriesOf(record)) return "fresh";
  if (seriesOf(message) < seriesOf(record)) return "superseded";
  if (copyOf(message) < copyOf(record)) return "superseded";
  if (copyOf(message) === copyOf(record)) return "current";
  // A newer copy of the same series takes over a live chain; a settled one stays settled.
  const live = record.status === "pending" || record.status === "retrying";
  return live ? "current" : "superseded";
}

export const isLive = (delivery: Delivery) => delivery.status === "pending" || delivery.status === "retrying";

/** A copy number for an operation that starts a new series: distinct between concurrent operations. */
export function newCopyNumber(random: () => number = Math.random): number {
  return 1 + Math.floor(random() * 0x3fff_ffff);
}

/**
 * Whether `current` is the record a manual retry, recover or redrive wrote for the very series and copy `written`
 * belongs to, after the message had already been read against the older record: the message outranks the record
 * it read and owns the new series, so its outcome stands on top of this reset (not a second chain).
 */
export function isResetFor(current: Delivery, written: Delivery): boolean {
  return (
    current.status === "pending" &&
    current.attempts === 0 &&
    (current.series ?? 0) === (written.series ?? 0) &&
    (current.copy ?? 0) === (written.copy ?? 0)
  );
}
