/** What the catalogue's routes accept (the handlers parse with these; the API contract documents them). */
import * as z from "zod/mini";
import { nestsWithin } from "../shared/nesting.ts";
import "../shared/zod.ts";
import { CATALOGUE_LIMITS } from "./catalogue.ts";

const jsonObject = (maxBytes: number, what: string) =>
  z.pipe(
    z.custom<unknown>((value) => nestsWithin(value, CATALOGUE_LIMITS.maxSchemaDepth), {
      message: `nested at most ${CATALOGUE_LIMITS.maxSchemaDepth} levels deep`,
    }),
    z
      .record(z.string(), z.json())
      .check(
        z.refine(
          (value) => Buffer.byteLength(JSON.stringify(value)) <= maxBytes,
          `${what} is at most ${maxBytes} bytes as JSON`,
        ),
      ),
  );

export const putEventTypeSchema = z
  .strictObject({
    description: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(
          CATALOGUE_LIMITS.maxDescriptionLength,
          `at most ${CATALOGUE_LIMITS.maxDescriptionLength} characters`,
        ),
      ),
    schema: z.optional(jsonObject(CATALOGUE_LIMITS.maxSchemaBytes, "a schema")),
    example: z.optional(jsonObject(CATALOGUE_LIMITS.maxExampleBytes, "an example")),
    deprecated: z.optional(z.boolean()),
    validate: z.optional(z.boolean()),
  })
  .check(
    z.refine((input) => !input.validate || input.schema !== undefined, {
      message: "validation needs a schema",
      path: ["validate"],
    }),
  );
export type PutEventTypeInput = z.infer<typeof putEventTypeSchema>;

export const eventTypeListQuery = z.strictObject({
  limit: z.optional(
    z.pipe(
      z.string().check(z.regex(/^\d{1,3}$/, "an integer from 1 to 200")),
      z.pipe(z.transform(Number), z.number().check(z.minimum(1), z.maximum(200))),
    ),
  ),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  archived: z.optional(z.enum(["true", "false"])),
});
