/**
 * Local mode's queues survive a restart. fauxqs keeps messages in memory (its SQLite persistence loses
 * in-flight messages, which retries depend on), so this journal writes every message of the delivery queue and
 * the DLQ — ready, delayed and in flight, with when each becomes visible — to `<data>/queues.json` once a second
 * and at stop, and puts them back at start with the delay they had left. A message whose delay exceeds SQS's
 * 15-minute maximum comes back early; the deliver function hides it again until its retry is due. What a kill
 * loses (at most the last second) the reconciler finds from DynamoDB.
 */
import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import type { FauxqsServer } from "fauxqs";
import * as z from "zod/mini";

const MAX_DELAY_SECONDS = 900;

const journalSchema = z.object({
  savedAt: z.number(),
  queues: z.record(
    z.string(),
    z.array(
      z.object({
        body: z.string(),
        visibleAt: z.number(),
        attributes: z.record(
          z.string(),
          z.object({ DataType: z.string(), StringValue: z.optional(z.string()) }),
        ),
      }),
    ),
  ),
});
type Journal = z.infer<typeof journalSchema>;
type JournalEntry = Journal["queues"][string][number];

export interface QueueJournal {
  /** Puts the journal's messages back into the (empty, fresh) queues; returns how many per queue. */
  restore(): Promise<Record<string, number>>;
  start(intervalMs?: number): void;
  /** Stops the timer and writes a last snapshot. */
  stop(): Promise<void>;
}

function textAttributes(message: {
  messageAttributes: Record<string, { DataType: string; StringValue?: string }>;
}) {
  return Object.fromEntries(
    Object.entries(message.messageAttributes).map(([name, value]) => [
      name,
      {
        DataType: value.DataType,
        ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
      },
    ]),
  );
}

export function createQueueJournal(options: {
  readonly server: FauxqsServer;
  readonly file: string;
  readonly queueNames: readonly string[];
}): QueueJournal {
  const { server, file, queueNames } = options;
  let timer: NodeJS.Timeout | undefined;
  let last = "";
  let writing: Promise<void> = Promise.resolve();

  const snapshot = (): Journal => {
    const now = Date.now();
    const queues: Record<string, JournalEntry[]> = {};
    for (const name of queueNames) {
      const inspected = server.inspectQueue(name);
      if (!inspected) continue;
      const { ready, delayed, inflight } = inspected.messages;
      queues[name] = [
        ...ready.map((message) => ({
          body: message.body,
          visibleAt: now,
          attributes: textAttributes(message),
        })),
        ...delayed.map((message) => ({
          body: message.body,
          visibleAt: message.delayUntil ?? now,
          attributes: textAttributes(message),
        })),
        ...inflight.map((entry) => ({
          body: entry.message.body,
          visibleAt: entry.visibilityDeadline,
          attributes: textAttributes(entry.message),
        })),
      ];
    }
    return { savedAt: now, queues };
  };

  const save = () => {
    writing = writing.then(async () => {
      const journal = snapshot();
      const text = JSON.stringify(journal.queues);
      if (text === last) return;
      const temporary = `${file}.tmp`;
      await writeFile(temporary, JSON.stringify(journal));
      await rename(temporary, file);
      last = text;
    });
    return writing;
  };

  return {
    async restore() {
      const restored: Record<string, number> = {};
      if (!existsSync(file)) return restored;
      const parsed = journalSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
      if (!parsed.success) throw new Error(`${file} is not a queue journal; move it away to start empty`);
      const now = Date.now();
      for (const [name, entries] of Object.entries(parsed.data.queues)) {
        if (!queueNames.includes(name)) continue;
        for (const entry of entries) {
          const delaySeconds = Math.min(
            MAX_DELAY_SECONDS,
            Math.max(0, Math.ceil((entry.visibleAt - now) / 1000)),
          );
          server.sendMessage(name, entry.body, { messageAttributes: entry.attributes, delaySeconds });
        }
        restored[name] = entries.length;
      }
      await save();
      return restored;
    },
    start(intervalMs = 1000) {
      timer = setInterval(() => void save().catch(() => undefined), intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await save();
    },
  };
}
