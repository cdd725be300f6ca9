import { expect } from "chai";
import { loadMediaConfig } from "../../media-worker/config.js";
import { loadApiConfig } from "../../api/config.js";

describe("media worker config", () => {
  const base = { MONGODB_URI: "mongodb://x/y", REDIS_URL: "redis://x" };

  it("when only the services are given, then development defaults apply and match the web process", () => {
    const c = loadMediaConfig(base);
    expect(c).to.deep.include({
      port: 3001,
      mediaPublicUrl: "ws://localhost:3001",
      twilioApiBaseUrl: "https://api.twilio.com",
      reservationChunkSeconds: 30,
      streamTokenTtlSeconds: 300,
    });
    expect(c.streamTokenSecret).to.equal(loadApiConfig(base).streamTokenSecret);
  });

  it("when web and worker share PORT, then MEDIA_PORT wins and PORT is the web's", () => {
    expect(loadMediaConfig({ ...base, PORT: "3000" }).port).to.equal(3001);
    expect(loadMediaConfig({ ...base, PORT: "3000", MEDIA_PORT: "4001" }).port).to.equal(4001);
  });

  it("when the worker runs as its own app, then it listens on PORT", () => {
    expect(loadMediaConfig({ ...base, PORT: "5123", MEDIA_WORKER_STANDALONE: "true" }).port).to.equal(5123);
    expect(loadMediaConfig({ ...base, PORT: "5123", MEDIA_WORKER_STANDALONE: "true", MEDIA_PORT: "4001" }).port).to.equal(4001);
  });

  it("when it runs in a Heroku web dyno, then it is its own app and listens on PORT", () => {
    expect(loadMediaConfig({ ...base, PORT: "5123", DYNO: "web.1" }).port).to.equal(5123);
    expect(loadMediaConfig({ ...base, PORT: "5123", DYNO: "worker.1" }).port).to.equal(3001);
    expect(loadMediaConfig({ ...base, PORT: "5123", DYNO: "web.1", MEDIA_WORKER_STANDALONE: "false" }).port).to.equal(3001);
  });

  it("when production lacks the stream secret, then the error names it", () => {
    expect(() => loadMediaConfig({ ...base, NODE_ENV: "production" })).to.throw(/STREAM_TOKEN_SECRET/);
    expect(() =>
      loadMediaConfig({
        ...base,
        NODE_ENV: "production",
        PUBLIC_BASE_URL: "https://v.example",
        MEDIA_PUBLIC_URL: "wss://m.example",
        TWILIO_AUTH_TOKEN: "t".repeat(32),
      }),
    ).to.throw(/STREAM_TOKEN_SECRET/);
  });

  describe("when NODE_ENV is production", () => {
    const prod = {
      ...base,
      NODE_ENV: "production",
      STREAM_TOKEN_SECRET: "x".repeat(32),
      PUBLIC_BASE_URL: "https://voice.example.com",
      MEDIA_PUBLIC_URL: "wss://media.example.com",
      TWILIO_AUTH_TOKEN: "t".repeat(32),
    };

    it("then personal data is redacted from the logs unless LOG_REDACT_PII=false, and outside production only with LOG_REDACT_PII=true", () => {
      expect(loadMediaConfig(prod).redactPii).to.equal(true);
      expect(loadMediaConfig({ ...prod, LOG_REDACT_PII: "false" }).redactPii).to.equal(false);
      expect(loadMediaConfig(base).redactPii).to.equal(false);
      expect(loadMediaConfig({ ...base, LOG_REDACT_PII: "true" }).redactPii).to.equal(true);
    });

    it("then everything set starts, with stream signatures checked", () => {
      expect(loadMediaConfig(prod)).to.deep.include({
        production: true,
        mediaPublicUrl: "wss://media.example.com",
        twilioAuthToken: "t".repeat(32),
      });
    });

    for (const name of ["PUBLIC_BASE_URL", "MEDIA_PUBLIC_URL", "TWILIO_AUTH_TOKEN"]) {
      it(`then a missing or blank ${name} refuses to start, naming it`, () => {
        const { [name]: _omit, ...without } = prod as Record<string, string>;
        expect(() => loadMediaConfig(without)).to.throw(`${name} is required in production`);
        expect(() => loadMediaConfig({ ...prod, [name]: "" })).to.throw(`${name} is required in production`);
        expect(() => loadMediaConfig({ ...without, NODE_ENV: "development" })).not.to.throw();
      });
    }

    it("then a malformed PUBLIC_BASE_URL is named too", () => {
      expect(() => loadMediaConfig({ ...prod, PUBLIC_BASE_URL: "voice.example.com" })).to.throw(/PUBLIC_BASE_URL must be an absolute URL/);
    });
  });

  it("when the pending-socket settings are given, then they are read, and a bad one is named", () => {
    expect(loadMediaConfig(base)).to.deep.include({ maxPendingSocketsPerIp: 20, trustProxy: false, streamStartTimeoutMs: 10_000 });
    expect(loadMediaConfig({ ...base, MEDIA_MAX_PENDING_SOCKETS_PER_IP: "5", MEDIA_TRUST_PROXY: "true" })).to.deep.include({
      maxPendingSocketsPerIp: 5,
      trustProxy: true,
    });
    // On Heroku every socket comes through the router.
    expect(loadMediaConfig({ ...base, DYNO: "web.1" }).trustProxy).to.equal(true);
    expect(() => loadMediaConfig({ ...base, MEDIA_MAX_PENDING_SOCKETS_PER_IP: "0" })).to.throw(/MEDIA_MAX_PENDING_SOCKETS_PER_IP/);
    expect(() => loadMediaConfig({ ...base, MEDIA_TRUST_PROXY: "sometimes" })).to.throw(/MEDIA_TRUST_PROXY/);
  });

  it("when a value is malformed, then the error names the variable", () => {
    expect(() => loadMediaConfig({ ...base, MEDIA_PUBLIC_URL: "https://m" })).to.throw(/MEDIA_PUBLIC_URL/);
    expect(() => loadMediaConfig({ ...base, TWILIO_API_BASE_URL: "ftp://x" })).to.throw(/TWILIO_API_BASE_URL/);
    expect(() => loadMediaConfig({ ...base, TWILIO_ACCOUNT_SID: "AC123" })).to.throw(/TWILIO_ACCOUNT_SID/);
    expect(() => loadMediaConfig({ ...base, RESERVATION_CHUNK_SECONDS: "0" })).to.throw(/RESERVATION_CHUNK_SECONDS/);
    expect(() => loadMediaConfig({ ...base, MEDIA_WORKER_STANDALONE: "maybe", PORT: "1" })).to.throw(/MEDIA_WORKER_STANDALONE/);
    expect(() => loadMediaConfig({ REDIS_URL: "redis://x" })).to.throw(/MONGODB_URI/);
  });
});
