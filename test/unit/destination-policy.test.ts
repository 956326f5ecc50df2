import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import {
  checkWebhookUrl,
  type DestinationPolicy,
  DestinationRefusedError,
  isAllowedAddress,
  parsePortRanges,
  strictDestinationPolicy,
} from "#core/delivery/destination-policy.ts";

const refused = (url: string, policy: DestinationPolicy = strictDestinationPolicy) => {
  try {
    checkWebhookUrl(url, policy);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(DestinationRefusedError);
    return (error as DestinationRefusedError).reason;
  }
};
const httpPolicy: DestinationPolicy = {
  ...strictDestinationPolicy,
  allowHttp: true,
  allowedPorts: [
    [80, 80],
    [443, 443],
  ],
};

describe("addresses a delivery may connect to", () => {
  it.each([
    "127.0.0.1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "100.100.100.200",
    "169.254.169.254",
    "169.254.170.2",
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "fd00:ec2::254",
    "fe80::1",
    "fc00::1",
    "64:ff9b::7f00:1",
    "2002:7f00:1::",
    "2001::1",
    "2001:db8::1",
    "ff02::1",
  ])("refuses %s", (address) => expect(isAllowedAddress(address)).toBe(false));

  it.each(["1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "[2606:4700:4700::1111]"])(
    "allows %s",
    (address) => expect(isAllowedAddress(address)).toBe(true),
  );

  // IPv6 is allowed only inside global unicast 2000::/3, minus the IANA special-purpose blocks within it.
  it.each([
    ["::a9fe:a9fe", "IPv4-compatible 169.254.169.254 (deprecated ::/96)"],
    ["::7f00:1", "IPv4-compatible 127.0.0.1"],
    ["::ffff:0:a9fe:a9fe", "IPv4-translated (RFC 6145)"],
    ["64:ff9b::a9fe:a9fe", "NAT64 (RFC 6052)"],
    ["64:ff9b:1::a9fe:a9fe", "local-use NAT64 (RFC 8215)"],
    ["100::1", "discard-only (RFC 6666)"],
    ["5f00::1", "SRv6 SIDs (RFC 9602)"],
    ["fec0::1", "deprecated site-local"],
    ["fe80::1", "link-local"],
    ["fc00::1", "unique local"],
    ["fd00:ec2::254", "unique local (the EC2 IMDS)"],
    ["ff02::1", "multicast"],
    ["1234::1", "unassigned, outside 2000::/3"],
    ["4000::1", "unassigned, outside 2000::/3"],
    ["2001::1", "Teredo"],
    ["2001:1::1", "PCP anycast (2001::/23, globally reachable, refused)"],
    ["2001:1::3", "DNS-SD SRP anycast (2001::/23)"],
    ["2001:2::1", "benchmarking"],
    ["2001:3::1", "AMT (2001::/23, globally reachable, refused)"],
    ["2001:4:112::1", "AS112-v6 (2001::/23)"],
    ["2001:20::1", "ORCHIDv2 (2001::/23)"],
    ["2001:30::1", "drone remote ID tags (2001::/23)"],
    ["2001:1ff:ffff::1", "the top of 2001::/23"],
    ["2001:db8::1", "documentation"],
    ["2002:a9fe:a9fe::1", "6to4 for 169.254.169.254"],
    ["2002:808:808::1", "6to4 for a public IPv4 address"],
    ["2620:4f:8000::1", "AS112 direct delegation"],
    ["3fff::1", "documentation (RFC 9637)"],
    ["3fff:fff:ffff::1", "the top of 3fff::/20"],
  ])("refuses IPv6 %s: %s (even when loopback is opened)", (address) => {
    expect(isAllowedAddress(address)).toBe(false);
    expect(isAllowedAddress(address, "loopback")).toBe(false);
  });

  it.each([
    "2001:200::1",
    "2001:4860:4860::8888",
    "2400:cb00::1",
    "2606:4700:4700::1111",
    "2620:4f:8001::1",
    "2a00:1450:4001::1",
    "3ffe::1",
    "3fff:1000::1",
  ])("allows global unicast IPv6 %s", (address) => expect(isAllowedAddress(address)).toBe(true));

  it("allows an IPv6 address exactly when it is in 2000::/3 and ipaddr.js names no special range for it (property)", () => {
    // Biased towards the edges of the special blocks, so the property visits them rather than random unassigned space.
    const hextet = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }),
      fc.constantFrom(0, 1, 2, 3, 4, 0x10, 0x1f, 0x20, 0x30, 0x64, 0x100, 0x112, 0x1ff, 0x200, 0xdb8, 0xffff),
      fc.constantFrom(
        0x1fff,
        0x2000,
        0x2001,
        0x2002,
        0x2003,
        0x2620,
        0x3ffe,
        0x3fff,
        0x4000,
        0x5f00,
        0xfe80,
        0xfc00,
      ),
    );
    fc.assert(
      fc.property(fc.array(hextet, { minLength: 8, maxLength: 8 }), (parts) => {
        const address = new ipaddr.IPv6(parts);
        if (address.range() === "ipv4Mapped") return; // checked as the IPv4 address it maps
        const expected = (parts[0] as number) >> 13 === 1 && address.range() === "unicast";
        expect(isAllowedAddress(address.toString()), address.toString()).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it("allows loopback only when explicitly opened, and nothing else private", () => {
    expect(isAllowedAddress("127.0.0.1", "loopback")).toBe(true);
    expect(isAllowedAddress("::1", "loopback")).toBe(true);
    expect(isAllowedAddress("10.0.0.1", "loopback")).toBe(false);
    expect(isAllowedAddress("169.254.169.254", "loopback")).toBe(false);
  });

  it("refuses garbage and zone ids", () => {
    for (const address of ["", "not-an-ip", "fe80::1%eth0", "1.2.3", "999.1.1.1"])
      expect(isAllowedAddress(address), address).toBe(false);
  });
});

describe("webhook URLs at registration", () => {
  it.each([
    "http://0x7f000001/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0177.1/",
    "http://127.1/",
    "http://012.0.0.1/",
    "http://0xA9FEA9FE/",
    "http://0/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[0:0:0:0:0:ffff:169.254.169.254]/",
    "http://[fd00:ec2::254]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[::a9fe:a9fe]/",
    "http://[::169.254.169.254]/",
    "http://[::7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[ff02::1]/",
    "http://[2001:db8::1]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[3fff::1]/",
    "http://100.100.100.200/",
    "http://169.254.170.2/",
    "http://localhost./",
    "http://localhost/",
    "http://api.localhost/",
  ])("refuses %s (every encoding of a blocked range)", (url) =>
    expect(refused(url, httpPolicy)).toBeDefined(),
  );

  it("refuses http unless allowed, credentials, fragments, odd ports, control characters, and overlong URLs", () => {
    expect(refused("http://example.com/")).toBe("scheme must be https");
    expect(refused("ftp://example.com/", httpPolicy)).toBe("scheme must be https or http");
    expect(refused("https://user:pass@example.com/")).toBe("must not contain credentials");
    expect(refused("http://169.254.169.254:80@evil.example/", httpPolicy)).toBe(
      "must not contain credentials",
    );
    expect(refused("https://example.com/#x")).toBe("must not contain a fragment");
    expect(refused("https://example.com:0/")).toBe("port 0 is not allowed");
    expect(refused("https://example.com:8443/")).toBe("port 8443 is not allowed");
    expect(refused("https://exa\tmple.com/")).toMatch(/control/);
    expect(refused("https://example.com/\r\nHost: x")).toMatch(/control/);
    expect(refused(`https://example.com/${"a".repeat(2100)}`)).toMatch(/longer/);
    expect(refused("https://[fe80::1%25eth0]/")).toBeDefined();
    expect(refused("https://intranet/")).toBe("host must be a fully qualified domain name");
    expect(refused("not a url")).toBeDefined();
  });

  it("accepts public https URLs, including IP literals, without over-blocking", () => {
    for (const url of [
      "https://example.com/hooks?x=1",
      "https://[2606:4700:4700::1111]/",
      "https://1.1.1.1/",
      "https://example.com:443/",
    ]) {
      expect(checkWebhookUrl(url, strictDestinationPolicy).href).toBeDefined();
    }
    expect(
      checkWebhookUrl("https://example.com:8443/", {
        ...strictDestinationPolicy,
        allowedPorts: parsePortRanges("443,8000-8999"),
      }).port,
    ).toBe("8443");
  });

  it("resolves to the real host when a backslash would fool a naive parser", () => {
    expect(checkWebhookUrl("https://example.com\\@127.0.0.1/", strictDestinationPolicy).hostname).toBe(
      "example.com",
    );
  });

  it("parses port ranges and refuses bad ones", () => {
    expect(parsePortRanges("443, 8000-8999")).toEqual([
      [443, 443],
      [8000, 8999],
    ]);
    for (const bad of ["0", "70000", "9-1", "a", "443,"])
      expect(() => parsePortRanges(bad), bad).toThrow(RangeError);
  });
});
