import { expect } from "chai";
import { startTestApp } from "./helpers/app.js";

describe("GET /healthz", () => {
  it("when MongoDB and Redis answer, then 200 with both up", async () => {
    const t = await startTestApp();
    try {
      const res = await fetch(`${t.url}/healthz`);
      expect(res.status).to.equal(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).to.include({ status: "ok", mongodb: "up", redis: "up" });
      expect(body.closeoutsFailed).to.be.a("number");
    } finally {
      await t.close();
    }
  });

  it("when Redis is down, then 503 naming it", async () => {
    const t = await startTestApp({ REDIS_URL: "redis://127.0.0.1:1" });
    try {
      const res = await fetch(`${t.url}/healthz`);
      expect(res.status).to.equal(503);
      expect(await res.json()).to.deep.equal({ status: "degraded", mongodb: "up", redis: "down", closeoutsFailed: null });
    } finally {
      await t.close();
    }
  });
});
