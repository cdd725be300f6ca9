import { expect } from "chai";
import { keyOf } from "../../api/auth/auth-failures.js";

describe("failed-authentication counters", () => {
  it("when the client address is an IP address, then it names its counter as it is, IPv4-mapped IPv6 as IPv4", () => {
    expect(keyOf("203.0.113.7")).to.equal("c247:authfail:{203.0.113.7}");
    expect(keyOf("::ffff:203.0.113.7")).to.equal("c247:authfail:{203.0.113.7}");
    expect(keyOf("2001:db8::1")).to.equal("c247:authfail:{2001:db8::1}");
  });

  it("when a proxy header gave anything else, then the counter is named by its hash, short and without braces", () => {
    const key = keyOf(`evil}{${"x".repeat(4000)}`);
    expect(key).to.match(/^c247:authfail:\{h:[0-9a-f]{32}\}$/);
    expect(keyOf("")).to.match(/^c247:authfail:\{h:[0-9a-f]{32}\}$/);
    expect(keyOf("not an ip")).to.not.equal(keyOf("not an IP"));
  });
});
