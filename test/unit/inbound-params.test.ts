import { expect } from "chai";
import { parseForm } from "../../api/lib/form-body.js";
import { parseInboundParams } from "../../api/voice/inbound-call.params.js";
import { fallbackTwiml, streamTwiml, streamTwimlDirect } from "../../api/voice/twiml.js";
import { parseStreamTwiml } from "../helpers/twilio.js";

describe("inbound call parameters", () => {
  const base = { CallSid: "CA" + "a".repeat(32), From: "+14155550100", To: "+14155550111" };

  it("when agent_id is in the query and the body, then the query wins", () => {
    const p = parseInboundParams({ ...base, agent_id: "body" }, { agent_id: "query" });
    expect(p.agentId).to.equal("query");
    expect(parseInboundParams({ ...base, agent_id: "body" }, {}).agentId).to.equal("body");
  });

  it("when optional fields are empty, then they are null", () => {
    const p = parseInboundParams({ ...base, ForwardedFrom: "", external_call_id: "" }, {});
    expect(p).to.deep.include({ forwardedFrom: null, externalCallId: null, agentId: null });
  });

  it("when AccountSid is a Twilio account id, then it is kept; anything else is null and never refuses the call", () => {
    const sid = `AC${"0123456789abcdef".repeat(2)}`;
    expect(parseInboundParams({ ...base, AccountSid: sid }, {}).twilioAccountSid).to.equal(sid);
    for (const bad of [undefined, "", "AC123", `AC${"g".repeat(32)}`, `XX${"0".repeat(32)}`, `AC${"0".repeat(33)}`]) {
      const body = bad === undefined ? base : { ...base, AccountSid: bad };
      expect(parseInboundParams(body, {}).twilioAccountSid, String(bad)).to.equal(null);
    }
  });

  it("when a required field is missing, then MISSING_PARAMS lists each", () => {
    expect(() => parseInboundParams({ From: "x" }, {})).to.throw(/CallSid, To/);
  });

  it("when a field name is not a plain identifier, then the form is refused", () => {
    expect(() => parseForm("a=1&agent_id%5B%24ne%5D=x")).to.throw(/Invalid field name/);
    expect(() => parseForm("constructor.prototype=1&x[y]=2")).to.throw(/Invalid field name/);
  });

  it("when names repeat, then every value is kept for the signature", () => {
    expect(parseForm("A=1&A=2&B=3")).to.deep.equal({ A: ["1", "2"], B: "3" });
  });
});

describe("stream TwiML", () => {
  it("when built, then it parses as XML with the stream URL and escaped parameters", () => {
    const xml = streamTwiml({
      mediaPublicUrl: "wss://media.example.com",
      callId: "abc",
      agentId: "agent",
      externalCallId: `x"&<y>`,
      token: "v1.1.sig",
    });
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).to.equal(true);
    const s = parseStreamTwiml(xml);
    expect(s.url).to.equal("wss://media.example.com/abc");
    expect(s.params).to.deep.equal({ callId: "abc", agentId: "agent", externalCallId: `x"&<y>`, token: "v1.1.sig" });
  });

  it("when no external call id is given, then no parameter is emitted for it", () => {
    const xml = streamTwiml({ mediaPublicUrl: "wss://m", callId: "c", agentId: "a", externalCallId: null, token: "t" });
    expect(Object.keys(parseStreamTwiml(xml).params)).to.deep.equal(["callId", "agentId", "token"]);
  });

  it("when values carry markup, entities, whitespace or unicode, then it matches a VoiceResponse built per call byte for byte", () => {
    const awkward = [
      "",
      "plain",
      `x"&<y>'`,
      "&amp; already",
      "tab\there",
      "line\nbreak\r\n",
      "Ωμέγα 📞",
      "]]>",
      "\u{E000}c247:token\u{E000}",
      "a".repeat(300),
      "client:alice",
      "sip:bob@example.com?x=1&y=2",
    ];
    let seed = 7;
    const pick = () => awkward[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % awkward.length] ?? "";
    for (let i = 0; i < 200; i++) {
      const input = {
        mediaPublicUrl: i % 2 ? "wss://media.example.com" : `wss://m.example.com/p&q=${pick()}`,
        callId: pick() || "c",
        agentId: pick(),
        externalCallId: i % 3 ? pick() || null : null,
        token: pick(),
      };
      expect(streamTwiml(input), JSON.stringify(input)).to.equal(streamTwimlDirect(input));
    }
  });

  it("when the fallback is asked for, then it apologises and hangs up", () => {
    expect(fallbackTwiml()).to.equal(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Sorry, we cannot take your call right now. Please try again in a few minutes.</Say><Hangup/></Response>',
    );
  });
});
