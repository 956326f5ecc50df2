/**
 * The Lambdas use zod/mini: the same parser as zod, ~25 KB instead of ~450 KB in a bundle (classic zod pulls in
 * every locale and its JSON Schema machinery). Import this module once for its effect — English messages — and
 * import `* as z from "zod/mini"` directly where schemas are written: re-exporting the namespace would defeat
 * tree-shaking.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());
