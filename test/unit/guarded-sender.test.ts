import { describe, expect, it } from "vitest";
import type { DestinationPolicy } from "#core/delivery/destination-policy.ts";
import { createGuardedSender } from "#functions/http/guarded-sender.ts";

// Loopback over http is allowed so the URL passes the policy; none of these requests ever reaches a socket.
const policy: DestinationPolicy = { allowHttp: true, allowedPorts: [[1, 65_535]], allowPrivate: "loopback" };
const unresolvable = async () => {
  throw new Error("no lookup expected");
};

describe("the guarded sender", () => {
  it.each([
    ["a header value with CR/LF", { "x-custom": "a\r\nInjected: yes" }, "ERR_INVALID_CHAR"],
    ["a header name that is not a token", { "bad name": "x" }, "ERR_INVALID_HTTP_TOKEN"],
  ])(
    "classifies a request node:http refuses to build (%s) as invalid_request, never throwing",
    async (_, headers, code) => {
      const sender = createGuardedSender({ policy, resolver: unresolvable });
      try {
        const sent = await sender.post("http://127.0.0.1:9/hooks", headers, "{}");
        expect(sent).toMatchObject({
          result: { kind: "transport_error", errorClass: "invalid_request" },
          responseBody: code,
        });
      } finally {
        sender.close();
      }
    },
  );

  it("classifies a URL the policy refuses as destination_blocked without a request", async () => {
    const sender = createGuardedSender({ policy, resolver: unresolvable });
    try {
      const sent = await sender.post("http://169.254.169.254/latest/meta-data/", {}, "{}");
      expect(sent.result).toEqual({ kind: "transport_error", errorClass: "destination_blocked" });
    } finally {
      sender.close();
    }
  });
});
