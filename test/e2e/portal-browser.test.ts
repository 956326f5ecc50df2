/**
 * The customer portal in a real browser: headless Chromium (Debian's `chromium`; PORTAL_BROWSER names another)
 * driven by playwright-core against the local stack `npm start` runs, in this process so its logs can be read.
 * Open the magic link, create an endpoint at a local receiver (a validation message first), send a test event and
 * see its attempt, rotate the secret, make a delivery fail and retry it, and see an expired session's message;
 * usable at phone width and by keyboard; an axe-core scan of every view finds nothing serious or critical; no log
 * line holds the token. Screenshots of each step go to `.test-reports/portal/`.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { AxeBuilder } from "@axe-core/playwright";
import { SignJWT } from "jose";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "#aws/clients.ts";
import { localClientConfig } from "#local/engines.ts";
import { findFreePort } from "#local/free-port.ts";
import { DEMO_TENANT_ID, type LocalStack, startLocalStack } from "#local/local-stack.ts";
import { captureOutput } from "#test/support/capture-output.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

const SHOTS = ".test-reports/portal";
const dataDir = mkdtempSync(join(tmpdir(), "sw-portal-"));
let stack: LocalStack;
let browser: Browser;
let receiver: Receiver;
let logs = "";
const tokens: string[] = [];
/** The receiver's answer: flipped to 500 to make a delivery fail. */
let receiverStatus = 200;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  receiver = await startReceiver(() => ({ status: receiverStatus, body: `{"ok":${receiverStatus < 300}}` }));
  const port = await findFreePort();
  const started = await captureOutput(() =>
    startLocalStack({
      dataDir,
      port,
      environment: {
        RETRY_SCHEDULE_SECONDS: "1",
        POWERTOOLS_LOG_LEVEL: "DEBUG",
        POWERTOOLS_METRICS_DISABLED: "true",
      },
    }),
  );
  stack = started.result;
  logs += started.output;
  browser = await chromium.launch({
    executablePath: process.env.PORTAL_BROWSER ?? "/usr/bin/chromium",
    headless: true,
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
});

afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs a step with the process output captured (the stack runs in this process). */
async function step(body: () => Promise<void>): Promise<void> {
  let failure: unknown;
  const { output } = await captureOutput(() =>
    body().catch((error: unknown) => {
      failure = error;
    }),
  );
  logs += output;
  if (failure) throw failure;
}

/** A page in its own context (its own sessionStorage), as axe-core's Playwright integration needs. */
async function openPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  return context.newPage();
}

/** Waits for the first match to be visible (the page loads and delivers in the background). */
async function visible(locator: ReturnType<Page["locator"]>) {
  await locator.first().waitFor({ state: "visible", timeout: 20_000 });
}

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function expectAccessible(page: Page, view: string) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const serious = results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
    );
  expect(serious, view).toEqual([]);
}

async function link(options: { expiresInSeconds?: number; capabilities?: string[] } = {}) {
  const url = await stack.portalLink(DEMO_TENANT_ID, options);
  tokens.push(new URL(url).hash.slice("#token=".length));
  return url;
}

/** Clicks `refresh` until `probe` is visible (deliveries happen in the background). */
async function refreshUntil(page: Page, refresh: string, probe: ReturnType<Page["locator"]>) {
  for (let tries = 0; tries < 60; tries += 1) {
    if (await probe.count()) return;
    await page.getByRole("button", { name: refresh }).click();
    await page.waitForTimeout(500);
  }
  await visible(probe.first());
}

describe("the customer portal in Chromium", () => {
  it("a whole session: link, create (with a validation message), test, attempt, rotate, fail and retry", async () => {
    await step(async () => {
      const page = await openPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      // The browser reports the API's 4xx answers (the validation step) as console errors: those are expected.
      page.on("console", (message) => {
        if (message.type() === "error" && !message.text().startsWith("Failed to load resource"))
          errors.push(message.text());
      });
      page.on("response", (response) => {
        if (response.status() >= 400 && !response.url().includes("/portal/api/"))
          errors.push(`${response.status()} ${response.url()}`);
      });
      const magic = await link();
      await page.goto(magic);
      await visible(page.getByRole("heading", { name: "Endpoints" }));
      // The token left the address bar and the history entry at once.
      expect(page.url()).toBe(`${stack.portalUrl}`);
      await visible(page.getByText("No endpoints yet"));
      await shoot(page, "01-empty-list");
      await expectAccessible(page, "empty list");

      // Keyboard only: Tab to "Add endpoint", Enter opens the form with focus on its heading.
      for (let tabs = 0; tabs < 5; tabs += 1) {
        await page.keyboard.press("Tab");
        if ((await page.evaluate("document.activeElement?.textContent")) === "Add endpoint") break;
      }
      expect(await page.evaluate("document.activeElement?.textContent")).toBe("Add endpoint");
      await page.keyboard.press("Enter");
      await visible(page.getByRole("heading", { name: "Add endpoint" }));
      expect(await page.evaluate("document.activeElement?.id")).toBe("form-heading");

      // The API's validation message, next to its field.
      await page.getByLabel("URL").fill("ftp://example.com/hooks");
      await page.getByLabel("Event types").fill("order.*");
      await page.getByRole("button", { name: "Create endpoint" }).click();
      const urlError = page.locator("#f-url-error");
      await visible(urlError);
      expect(await page.getByLabel("URL").getAttribute("aria-invalid")).toBe("true");
      await shoot(page, "02-validation-message");
      await expectAccessible(page, "form with an error");

      await page.getByLabel("URL").fill(`${receiver.url}`);
      await page.getByLabel("Description (optional)").fill("Orders to the ERP");
      await page.getByLabel("Custom headers (optional)").fill("X-Team: billing");
      await page.getByRole("button", { name: "Create endpoint" }).click();
      await visible(page.getByRole("heading", { name: "Endpoint created" }));
      const firstSecret = await page.locator("#secret-value").inputValue();
      expect(firstSecret).toMatch(/^whsec_/);
      await shoot(page, "03-secret-shown-once");
      await expectAccessible(page, "secret");
      await page.getByRole("button", { name: "I have stored it" }).click();

      // Send a test event; its attempt appears, with the receiver's status (a success keeps no response body).
      await visible(page.getByRole("heading", { name: receiver.url }));
      await page.getByRole("button", { name: "Send test event" }).click();
      await refreshUntil(page, "Refresh attempts", page.locator("td .badge.ok"));
      await visible(page.locator("td").filter({ hasText: /^200$/ }));
      expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
      await shoot(page, "04-test-event-attempt");
      await expectAccessible(page, "endpoint detail");

      // Rotate the secret: a new one, shown once.
      await page.getByRole("button", { name: "Rotate secret" }).click();
      await visible(page.locator("#secret-value"));
      const rotated = await page.locator("#secret-value").inputValue();
      expect(rotated).toMatch(/^whsec_/);
      expect(rotated).not.toBe(firstSecret);
      await shoot(page, "05-secret-rotated");
      await page.getByRole("button", { name: "I have stored it" }).click();

      // A delivery that fails (every attempt 500), then succeeds when retried.
      receiverStatus = 500;
      await page.getByRole("button", { name: "Send test event" }).click();
      await page.getByLabel("Status").selectOption("failed");
      await refreshUntil(page, "Refresh attempts", page.locator("td .badge.bad"));
      await shoot(page, "06-failed-attempts");
      await page.locator("tbody tr").first().getByRole("button").click();
      await visible(page.getByRole("heading", { name: "Delivery" }));
      await refreshUntil(page, "Refresh", page.locator("dd .badge.bad", { hasText: "failed" }));
      await shoot(page, "07-failed-delivery");
      await expectAccessible(page, "delivery");
      receiverStatus = 200;
      await page.getByRole("button", { name: "Retry delivery" }).click();
      await visible(page.getByText("Retry queued"));
      await refreshUntil(page, "Refresh", page.locator("dd .badge.ok", { hasText: "delivered" }));
      await shoot(page, "08-retried-delivered");

      // At phone width: nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.getByRole("button", { name: "← Back to the endpoint" }).click();
      await visible(page.getByRole("heading", { name: receiver.url }));
      expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
      await shoot(page, "09-phone-endpoint");
      await expectAccessible(page, "phone endpoint");
      expect(errors).toEqual([]);
      await page.close();
    });
  });

  it("an expired or revoked session shows a message, not a blank page", async () => {
    await step(async () => {
      // A real token of the demo tenant, signed with the local key, that expired a minute ago.
      const clients = createAwsClients(localClientConfig(stack.endpoints));
      const { SecretString = "{}" } = await clients.secretsManager.send(
        new GetSecretValueCommand({ SecretId: "serverless-webhooks/local/portal-signing-keys" }),
      );
      const keySet = JSON.parse(SecretString) as Record<string, string>;
      const kid = keySet.current as string;
      const now = Math.floor(Date.now() / 1000);
      const expired = await new SignJWT({ scope: "endpoints:read" })
        .setProtectedHeader({ alg: "HS256", kid })
        .setSubject(DEMO_TENANT_ID)
        .setIssuer("serverless-webhooks")
        .setAudience("serverless-webhooks-portal")
        .setIssuedAt(now - 3600)
        .setExpirationTime(now - 60)
        .setJti("7d8e9f00-1111-4222-8333-444455556666")
        .sign(new TextEncoder().encode(keySet[kid]));
      tokens.push(expired);
      let page = await openPage();
      await page.goto(`${stack.portalUrl}#token=${expired}`);
      await visible(page.getByRole("heading", { name: "Your session has expired" }));
      await shoot(page, "10-session-expired");
      await expectAccessible(page, "expired");

      // A live session, revoked while open: the next call shows the same message.
      await page.close();
      page = await openPage();
      await page.goto(await link());
      await visible(page.getByRole("heading", { name: "Endpoints" }));
      const revoked = await fetch(`${stack.url}/tenants/${DEMO_TENANT_ID}/portal-sessions/revoke`, {
        method: "POST",
      });
      expect(revoked.status).toBe(200);
      await page.getByRole("button", { name: "Add endpoint" }).click();
      await page.getByRole("button", { name: "Cancel" }).click();
      await visible(page.getByRole("heading", { name: "Your session has expired" }));

      // Without a token at all.
      const fresh = await openPage();
      await fresh.goto(stack.portalUrl);
      await visible(fresh.getByRole("heading", { name: "No session" }));
      await page.close();
      await fresh.close();
    });
  });

  it("served with a strict Content-Security-Policy: no inline script or style allowed", async () => {
    const response = await fetch(stack.portalUrl);
    const policy = response.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("style-src 'self'");
    expect(policy).not.toContain("unsafe-inline");
    expect(policy).not.toContain("unsafe-eval");
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
  });

  it("no log line of the session holds a token", () => {
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    expect(logs.length).toBeGreaterThan(0);
    for (const token of tokens) {
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(token.split(".")[2]);
    }
  });
});
