/**
 * Where a webhook may send: the URL rules checked at registration and the address rules checked again at
 * send time on every resolved address (the SSRF guard). One policy object, so both checks agree.
 */
import ipaddr from "ipaddr.js";

/** Private ranges a deployment may open up explicitly: only loopback, and only for local mode and tests. */
export type PrivateDestinationAllowance = "none" | "loopback";

export interface DestinationPolicy {
  /** Allow `http:` as well as `https:` (off in AWS; local mode turns it on). */
  readonly allowHttp: boolean;
  /** Inclusive port ranges allowed besides the scheme's default, e.g. [[443, 443], [8000, 8999]]. */
  readonly allowedPorts: readonly (readonly [number, number])[];
  readonly allowPrivate: PrivateDestinationAllowance;
}

export const strictDestinationPolicy: DestinationPolicy = {
  allowHttp: false,
  allowedPorts: [[443, 443]],
  allowPrivate: "none",
};

/** Parses `443,8000-8999` into inclusive ranges; throws RangeError on anything else. */
export function parsePortRanges(text: string): [number, number][] {
  return text.split(",").map((part) => {
    const match = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(part);
    const low = Number(match?.[1]);
    const high = match?.[2] === undefined ? low : Number(match[2]);
    if (!match || low < 1 || high > 65_535 || low > high) {
      throw new RangeError(`"${part.trim()}" is not a port or a port range`);
    }
    return [low, high];
  });
}

const portAllowed = (port: number, policy: DestinationPolicy) =>
  policy.allowedPorts.some(([low, high]) => port >= low && port <= high);

export const MAX_URL_LENGTH = 2048;

export class DestinationRefusedError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`destination refused: ${reason}`);
    this.name = "DestinationRefusedError";
    this.reason = reason;
  }
}

/** IPv6 global unicast (RFC 4291, 2000::/3): the only IPv6 space a delivery may reach. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR("2000::/3");

/**
 * The IANA IPv6 special-purpose blocks inside 2000::/3, all refused:
 * - 2001::/23, IETF protocol assignments, whole: Teredo (2001::/32), benchmarking (2001:2::/48) and deprecated
 *   ORCHID are not globally reachable, and the sub-blocks the registry marks globally reachable are refused on
 *   purpose too: the PCP, TURN and DNS-SD SRP anycast addresses (2001:1::1-3) reach the nearest such service,
 *   typically the local gateway; AMT relays (2001:3::/32) and AS112 (2001:4:112::/48) serve no webhooks; ORCHIDv2
 *   (2001:20::/28) and drone remote ID tags (2001:30::/28) are identifiers, not locators.
 * - 2001:db8::/32 and 3fff::/20, documentation.
 * - 2002::/16, 6to4: it embeds an IPv4 address (2002:a9fe:a9fe:: is 169.254.169.254), relayed who knows where.
 * - 2620:4f:8000::/48, AS112 direct delegation (a DNS sink).
 * Outside 2000::/3 everything is refused, so ::/96 (IPv4-compatible, ::a9fe:a9fe), 64:ff9b::/96 (NAT64),
 * link-local, unique local, multicast and the unassigned space need no entry here.
 */
const SPECIAL_IN_GLOBAL_UNICAST_V6 = [
  "2001::/23",
  "2001:db8::/32",
  "2002::/16",
  "2620:4f:8000::/48",
  "3fff::/20",
].map((cidr) => ipaddr.IPv6.parseCIDR(cidr));

const isGlobalUnicastV6 = (address: ipaddr.IPv6) =>
  address.match(GLOBAL_UNICAST_V6) && !SPECIAL_IN_GLOBAL_UNICAST_V6.some((range) => address.match(range));

/**
 * Is `address` one we may connect to? The one rule for both the registration check (IP literals in the URL) and
 * the send-time check (every resolved address). Canonicalises first (`ipaddr.process` turns IPv4-mapped IPv6 into
 * IPv4), then allows only global unicast: for IPv4, whatever ipaddr.js does not name as special (loopback, private,
 * CGNAT, link-local 169.254.169.254, multicast, reserved, documentation, ...); for IPv6, 2000::/3 minus the
 * special-purpose blocks above. Loopback (127/8, ::1) only when the policy opens it.
 */
export function isAllowedAddress(
  address: string,
  allowPrivate: PrivateDestinationAllowance = "none",
): boolean {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  // Only canonical forms: resolvers and the WHATWG parser produce them, so anything else is suspect.
  const canonical = bare.includes(":") ? ipaddr.IPv6.isValid(bare) : ipaddr.IPv4.isValidFourPartDecimal(bare);
  if (!canonical || bare.includes("%")) return false;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(bare);
  } catch {
    return false;
  }
  const range = parsed.range();
  if (allowPrivate === "loopback" && range === "loopback") return true;
  return parsed instanceof ipaddr.IPv6 ? isGlobalUnicastV6(parsed) : range === "unicast";
}

/** Host names that always mean this machine, whatever a resolver says. */
function isLocalName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost") || name === "localhost.localdomain";
}

// Tab, CR, LF and other controls are silently removed by the WHATWG parser, so they are refused on the raw text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f\s]/;

function checkHost(host: string, policy: DestinationPolicy): void {
  if (host === "") throw new DestinationRefusedError("has no host");
  const literal = host.startsWith("[") ? host.slice(1, -1) : host;
  if (ipaddr.isValid(literal)) {
    if (!isAllowedAddress(literal, policy.allowPrivate))
      throw new DestinationRefusedError("address is not public");
    return;
  }
  if (isLocalName(host)) {
    if (policy.allowPrivate !== "loopback") throw new DestinationRefusedError("host is local");
    return;
  }
  if (!host.includes(".")) throw new DestinationRefusedError("host must be a fully qualified domain name");
}

/** The parsed URL if it satisfies the policy; otherwise a `DestinationRefusedError` naming the rule. */
export function checkWebhookUrl(raw: string, policy: DestinationPolicy): URL {
  if (raw.length > MAX_URL_LENGTH)
    throw new DestinationRefusedError(`longer than ${MAX_URL_LENGTH} characters`);
  if (CONTROL_CHARACTERS.test(raw))
    throw new DestinationRefusedError("contains whitespace or control characters");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DestinationRefusedError("not a valid absolute URL");
  }
  if (url.protocol !== "https:" && !(policy.allowHttp && url.protocol === "http:")) {
    throw new DestinationRefusedError(
      policy.allowHttp ? "scheme must be https or http" : "scheme must be https",
    );
  }
  if (url.username !== "" || url.password !== "")
    throw new DestinationRefusedError("must not contain credentials");
  if (url.hash !== "") throw new DestinationRefusedError("must not contain a fragment");
  if (url.port !== "") {
    const port = Number(url.port);
    if (port === 0 || !portAllowed(port, policy))
      throw new DestinationRefusedError(`port ${url.port} is not allowed`);
  }
  checkHost(url.hostname, policy);
  return url;
}
