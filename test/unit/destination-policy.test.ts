import { describe, expect, it } from "vitest";
import {
  checkWebhookUrl,
  type DestinationPolicy,
  DestinationRefusedError,
  isAllowedAddress,
  parsePortRanges,
  strictDestinationPolicy,
} from "#core/destination-policy.ts";

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
