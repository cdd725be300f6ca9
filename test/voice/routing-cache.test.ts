// A busy number's routing (number -> agent -> account) is cached per web process, and every
// write to that data, in this process or another, takes effect on the very next call.
import { expect } from "chai";
import { ROUTING_VERSION_KEY } from "../../schema/infra/routing-version.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { withDbCommands } from "../helpers/db-commands.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import { inboundCallFields, parseStreamTwiml, postForm } from "../helpers/twilio.js";

const ROUTING_READS = /^find (agents|accounts|phonenumbers)$/;

describe("Inbound call routing cache", () => {
  let t: TestApp;
  let other: TestApp; // a second web process: its own cache, the same Redis
  let fx: Fixture;

  before(async () => {
    [t, other] = await Promise.all([startTestApp(), startTestApp()]);
  });
  after(async () => {
    await Promise.all([t.close(), other.close()]);
  });
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 5_000_000 });
  });

  const call = (app: TestApp) => postForm(app, "/inbound_call", inboundCallFields(fx.number));

  describe("when a number takes a second call", () => {
    it("then the number, agent and account are not read from the database again", async () => {
      const first = await withDbCommands(() => call(t));
      expect(first.result.status).to.equal(200);
      expect(first.commands.filter((c) => ROUTING_READS.test(c))).to.have.length(3);
      const second = await withDbCommands(() => call(t));
      expect(second.result.status).to.equal(200);
      expect(second.commands.filter((c) => ROUTING_READS.test(c))).to.deep.equal([]);
      expect(parseStreamTwiml(second.result.text).params.agentId).to.equal(String(fx.agentId));
    });
  });

  describe("when routing data changes after the number was cached", () => {
    it("then a paused agent refuses the next call, in this process and in another", async () => {
      expect((await call(t)).status).to.equal(200);
      expect((await call(other)).status).to.equal(200);
      await AgentModel.findOneAndUpdate({ _id: fx.agentId }, { $set: { status: "inactive" } });
      expect((await call(t)).status).to.equal(404);
      expect((await call(other)).status).to.equal(404);
    });

    it("then a suspended account refuses the next call", async () => {
      expect((await call(other)).status).to.equal(200);
      const account = await AccountModel.findById(fx.accountId);
      account!.status = "suspended";
      await account!.save();
      const res = await call(other);
      expect(res.status).to.not.equal(200);
      expect(JSON.parse(res.text).code).to.equal("ACCOUNT_SUSPENDED");
    });

    it("then a number moved to another agent answers with that agent next", async () => {
      expect((await call(t)).status).to.equal(200);
      const agent = await AgentModel.create({ accountId: fx.accountId, name: "Night desk", greeting: "Evening!" });
      await PhoneNumberModel.updateOne({ e164: fx.number }, { $set: { agentId: agent._id } });
      const res = await call(other);
      expect(parseStreamTwiml(res.text).params.agentId).to.equal(String(agent._id));
      expect(parseStreamTwiml((await call(t)).text).params.agentId).to.equal(String(agent._id));
    });

    it("then a write that bypasses the models is seen once the routing version moves", async () => {
      expect((await call(t)).status).to.equal(200);
      await AgentModel.collection.updateOne({ _id: fx.agentId }, { $set: { status: "inactive" } });
      expect((await call(t)).status).to.equal(200); // not announced: the cached entry still routes
      await t.redis.incr(ROUTING_VERSION_KEY);
      expect((await call(t)).status).to.equal(404);
    });
  });
});
