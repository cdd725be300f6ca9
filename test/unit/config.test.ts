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
      authFailuresPerMinute: 20,
      trustProxy: false,
    });
  });

  it("when the failed-authentication limit or the proxy is configured, then they are read, and Heroku trusts its router", () => {
    expect(loadApiConfig({ ...base, AUTH_FAILURES_PER_MINUTE: "100" }).authFailuresPerMinute).to.equal(100);
    expect(() => loadApiConfig({ ...base, AUTH_FAILURES_PER_MINUTE: "0" })).to.throw(/AUTH_FAILURES_PER_MINUTE/);
    expect(() => loadApiConfig({ ...base, AUTH_FAILURES_PER_MINUTE: "many" })).to.throw(/AUTH_FAILURES_PER_MINUTE/);
    expect(loadApiConfig({ ...base, DYNO: "web.1" }).trustProxy).to.equal(true);
    expect(loadApiConfig({ ...base, DYNO: "web.1", TRUST_PROXY: "false" }).trustProxy).to.equal(false);
    expect(loadApiConfig({ ...base, TRUST_PROXY: "true" }).trustProxy).to.equal(true);
    expect(() => loadApiConfig({ ...base, TRUST_PROXY: "maybe" })).to.throw(/TRUST_PROXY/);
  });

  it("when production lacks a secret, then the error names the variable", () => {
    expect(() => loadApiConfig({ ...base, NODE_ENV: "production", STREAM_TOKEN_SECRET: "x".repeat(32) })).to.throw(/ADMIN_API_KEY/);
    expect(() => loadApiConfig({ ...base, NODE_ENV: "production", ADMIN_API_KEY: "k".repeat(32) })).to.throw(/STREAM_TOKEN_SECRET/);
  });

  describe("when NODE_ENV is production", () => {
    const prod = {
      ...base,
      NODE_ENV: "production",
      ADMIN_API_KEY: "k".repeat(32),
      STREAM_TOKEN_SECRET: "x".repeat(32),
      PUBLIC_BASE_URL: "https://voice.example.com",
      MEDIA_PUBLIC_URL: "wss://media.example.com",
      TWILIO_AUTH_TOKEN: "t".repeat(32),
    };

    it("then personal data is redacted from the logs unless LOG_REDACT_PII=false, and outside production only with LOG_REDACT_PII=true", () => {
      expect(loadApiConfig(prod).redactPii).to.equal(true);
      expect(loadApiConfig({ ...prod, LOG_REDACT_PII: "false" }).redactPii).to.equal(false);
      expect(loadApiConfig(base).redactPii).to.equal(false);
      expect(loadApiConfig({ ...base, LOG_REDACT_PII: "true" }).redactPii).to.equal(true);
    });

    it("then everything set starts", () => {
      expect(loadApiConfig(prod)).to.deep.include({
        production: true,
        publicBaseUrl: "https://voice.example.com",
        twilioAuthToken: "t".repeat(32),
      });
    });

    for (const name of ["PUBLIC_BASE_URL", "MEDIA_PUBLIC_URL", "TWILIO_AUTH_TOKEN"]) {
      it(`then a missing or blank ${name} refuses to start, naming it`, () => {
        const { [name]: _omit, ...without } = prod as Record<string, string>;
        expect(() => loadApiConfig(without)).to.throw(`${name} is required in production`);
        expect(() => loadApiConfig({ ...prod, [name]: "  " })).to.throw(`${name} is required in production`);
        // Outside production the development default still applies.
        expect(() => loadApiConfig({ ...without, NODE_ENV: "development" })).not.to.throw();
      });
    }
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
