import { expect, it } from "vitest";
import { issueToken, parseKeySet, verifyToken } from "#core/portal/portal-tokens.ts";

const keySet = parseKeySet(JSON.stringify({ current: "k1", k1: "x".repeat(40) }));
const keys = { keySet: async () => keySet };
const settings = { issuer: "serverless-webhooks", audience: "serverless-webhooks-portal" };

it("a token of a deleted tenant does not open the tenant created again under its id in the same second", async () => {
  const old = { id: "t_reused", createdAt: "2026-01-01T00:00:00.000Z" };
  const mintedAt = new Date("2026-12-01T10:00:00.100Z");
  const { token } = await issueToken(old, {}, keys, settings, mintedAt);
  // The operator deletes t_reused and creates it again 400 ms later: a different tenant, same id.
  const recreated = { id: "t_reused", createdAt: "2026-12-01T10:00:00.500Z" };
  const verified = verifyToken(
    token,
    keys,
    settings,
    async () => recreated,
    new Date("2026-12-01T10:00:01Z"),
  );
  await expect(verified).rejects.toMatchObject({ status: 401 });
});

it("a token naming a kid inherited from Object.prototype is a 401, not a crash", async () => {
  const { SignJWT } = await import("jose");
  for (const kid of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
    const token = await new SignJWT({ scope: "endpoints:read" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT", kid })
      .setSubject("t_a")
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setIssuedAt()
      .setExpirationTime("1h")
      .setJti("j")
      .sign(new TextEncoder().encode("y".repeat(40)));
    const verified = verifyToken(
      token,
      keys,
      settings,
      async () => ({ id: "t_a", createdAt: "2020-01-01T00:00:00Z" }),
      new Date(),
    );
    await expect(verified, kid).rejects.toMatchObject({ status: 401 });
  }
});
