import { expect } from "chai";
import { loadApiConfig } from "../../api/config.js";

describe("web config", () => {
  const base = { MONGODB_URI: "mongodb://x/y", REDIS_URL: "redis://x" };

  it("when only the services are given, then development defaults apply", () => {
    const c = loadApiConfig(base);
    expect(c).to.deep.include({
      port: 3000,
      publicBaseUrl: "http://localhost:3000",
      mediaPublicUrl: "ws://localhost:3001",
      minBalanceSeconds: 60,
      defaultRatePerMinuteMicros: 150_000,
      twilioApiBaseUrl: "https://api.twilio.com",
      twilioAccountSid: undefined,
    });
  });

  it("when production lacks a secret, then the error names the variable", () => {
    expect(() => loadApiConfig({ ...base, NODE_ENV: "production", STREAM_TOKEN_SECRET: "x".repeat(32) })).to.throw(/ADMIN_API_KEY/);
    expect(() => loadApiConfig({ ...base, NODE_ENV: "production", ADMIN_API_KEY: "k".repeat(32) })).to.throw(/STREAM_TOKEN_SECRET/);
  });

  it("when a value is malformed, then the error names the variable", () => {
    expect(() => loadApiConfig({ ...base, PORT: "web" })).to.throw(/PORT/);
    expect(() => loadApiConfig({ ...base, MEDIA_PUBLIC_URL: "https://m" })).to.throw(/MEDIA_PUBLIC_URL/);
    expect(() => loadApiConfig({ ...base, PUBLIC_BASE_URL: "https://x/?a=1" })).to.throw(/PUBLIC_BASE_URL/);
    expect(() => loadApiConfig({ REDIS_URL: "redis://x" })).to.throw(/MONGODB_URI/);
    expect(() => loadApiConfig({ ...base, DEFAULT_RATE_PER_MINUTE_USD: "-1" })).to.throw(/DEFAULT_RATE_PER_MINUTE_USD/);
    expect(() => loadApiConfig({ ...base, TWILIO_ACCOUNT_SID: "AC123" })).to.throw(/TWILIO_ACCOUNT_SID/);
    expect(() => loadApiConfig({ ...base, TWILIO_API_BASE_URL: "ftp://x" })).to.throw(/TWILIO_API_BASE_URL/);
  });

  it("when PUBLIC_BASE_URL ends with a slash, then it is trimmed so signatures match", () => {
    expect(loadApiConfig({ ...base, PUBLIC_BASE_URL: "https://x.example/" }).publicBaseUrl).to.equal("https://x.example");
  });
});
