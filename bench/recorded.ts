/**
 * Sections of BENCHMARKS.md that `npm run bench` does not measure, kept verbatim in every run: figures counted by
 * the test suites, and earlier passes' figures that the current ones are compared with.
 */

/** Counted by test/integration/endpoint-health.test.ts and health-records.test.ts (not by the bench). */
export const ENDPOINT_HEALTH_COSTS = `## Endpoint health: cost per delivery

Not measured by \`npm run bench\` (it copies this section from \`bench/recorded.ts\`): counted by \`test/integration/endpoint-health.test.ts\` and \`test/integration/health-records.test.ts\` on 2026-12-01 (SDK calls counted by \`test/support/sdk-call-counter.ts\` on every deliver container's clients; counts, not timings). [\`docs/endpoint-health.md\`](docs/endpoint-health.md) explains each control.

| path | extra DynamoDB calls per delivery | extra items |
| --- | --- | --- |
| normal (no rate limit, circuit closed) | **0** (one \`UpdateItem\` per webhook per minute) | the health record: +1 item per webhook per batch in the batch's \`BatchGetItem\` (≈ 0.1 consistent read unit per delivery at 10 deliveries to one webhook per batch). A healthy webhook's successes are written once per window (a minute), not per batch; a batch with a failure, or any batch while the window holds failures, adds its counts with one plain \`UpdateItem\` after the ledger transaction. Inside the transaction the counts had cost 0.2 write units per delivery, and concurrent batches to one webhook cancelled each other: 58 \`TransactionConflict\` cancellations among 12 concurrent batches in \`integration/delivery-ledger\` (conflicts emulated as AWS documents them), none since |
| rate-limited, 150 deliveries at 20/s through 3 containers on one queue | **1.48** \`UpdateItem\` per delivered delivery (222 for 150, before the health counts left the transaction; the suite now prints the reservations and the counts' updates together: 1.85, with 163 long holds sent again as new messages under a receive budget of 3) | one conditional \`UpdateItem\` per webhook per batch that had work for it; held messages come back for another receive (+1 \`ChangeMessageVisibility\` each), so under a backlog the calls are per receive, not per delivery |
| circuit open | 0 per held delivery; 1 \`UpdateItem\` to take the probe lease and 1 to settle it, per probe interval | a held delivery's record is rewritten (in the batch transaction) with its next probe time |
| transitions (open, close, disable) | 1 conditional \`UpdateItem\` each (a disable: the webhook's versioned transaction), only when they happen | — |

Operational events: one \`PutEvents\` per batch that made a transition (≤ 10 entries), $1.00 per million events on the default bus; nothing on the normal path.

Breaker, same test: 500 events published while the receiver answered 503, two deliver containers: **34 requests** reached the receiver during a 52 s outage (the bound asserted: 10 attempts to open + 2 × 10 in flight + one probe per 2 s); after it came back all 500 were delivered and the attempts recorded equal the requests the receiver saw.`;

/** The capacity units before and after the pass that stopped keeping 2xx response bodies (2026-12-01). */
export const CAPACITY_EARLIER_PASS = `An earlier pass stopped keeping 2xx response bodies. Before it (the same bench and run conditions; the health counts then rode in the deliver transaction):

| scenario | per published event | per first-attempt delivery |
| --- | --- | --- |
| fan-out 1, receiver answers 204 | 1.50 R + 3.00 W (table 1.50 R / 2.00 W, gsi4 0.00 R / 1.00 W) | 0.28 R + 7.20 W (table 0.28 R / 4.20 W, gsi1 0.00 R / 2.00 W, gsi2 0.00 R / 1.00 W) |
| fan-out 10, receiver answers 204 | 1.50 R + 3.00 W (table 1.50 R / 2.00 W, gsi4 0.00 R / 1.00 W) | 2.08 R + 9.00 W (table 2.08 R / 6.00 W, gsi1 0.00 R / 2.00 W, gsi2 0.00 R / 1.00 W) |
| fan-out 1, receiver answers 200 with a 2048-byte body | 1.50 R + 3.00 W (table 1.50 R / 2.00 W, gsi4 0.00 R / 1.00 W) | 0.28 R + 13.20 W (table 0.28 R / 8.20 W, gsi1 0.00 R / 4.00 W, gsi2 0.00 R / 1.00 W) |

What that pass changed, and what it found (2026-12-01, 200 events per scenario, DynamoDB Local on a 2-core machine shared with other test runs; unit counts do not vary between runs):

- **The deliver transaction is measured, not assumed.** DynamoDB Local reports a 20-item TransactWriteItems as about 1 unit per delivery; the bench now replays each write of the transaction into a shadow table to price it (\`bench/capacity.ts\`, \`TransactionReplay\`). It confirms the 7 write units per delivery the model used to assume (delivery and attempt items 2 each, gsi1 2, gsi2 1), plus what endpoint health added: its count \`Update\` rides in the same transaction, 2 units per webhook per batch, so 0.2 W per delivery at fan-out 1 and 2.0 W at fan-out 10 (ten webhooks in a batch of ten).
- **2xx response bodies are no longer stored** (failed attempts keep their first 4 KiB). Against a receiver that acknowledges with a 2 KiB body: 13.20 → 7.20 W per delivery (the attempt item shrinks from 3 KB to under 1 KB, in the table at 2 units per KB and again in gsi1's \`ALL\` projection); $3.75 less per million such deliveries. A receiver that answers 204 costs the same as before.
- **Projections and sparse indexes: nothing to take on the first-attempt path.** A write costs at least one unit per index entry whatever its size, and the delivery (≈ 0.5 KB) and a 2xx attempt (≈ 0.4 KB) are under 1 KB, so \`KEYS_ONLY\`/\`INCLUDE\` would save nothing there once 2xx bodies are gone; it would save on failed attempts with large bodies, at the price of renaming gsi1 (an index's projection cannot change in place) and a BatchGetItem after each listing page. Every remaining index entry is read by a listing: gsi1 by an event's deliveries and a webhook's attempts, gsi2 by a webhook's deliveries (endpoint health's listing) and recover.`;
