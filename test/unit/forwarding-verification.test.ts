import { expect } from "chai";
import { XMLParser } from "fast-xml-parser";
import { loadApiConfig } from "../../api/config.js";
import {
  CODE_DIGITS,
  codeHashKey,
  hashCode,
  newVerificationCode,
  newVerificationId,
  VERIFICATION_ID,
} from "../../api/forwarding-numbers/verification-code.js";
import { endTwiml, promptTwiml, retryTwiml } from "../../api/forwarding-numbers/verification.twiml.js";

const parse = (xml: string) =>
  new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" }).parse(xml) as {
    Response: { Gather?: Record<string, string>; Say?: string; Hangup?: string };
  };

describe("forwarding number verification parts", () => {
  describe("codes", () => {
    it("then a code is six digits, leading zeros kept, and ids are 128 random bits in hex", () => {
      const codes = Array.from({ length: 2_000 }, () => newVerificationCode());
      for (const code of codes) expect(code).to.match(/^\d{6}$/);
      expect(CODE_DIGITS).to.equal(6);
      // Drawn from all million values: a few of 2,000 start with 0 (expected 200).
      expect(codes.filter((c) => c.startsWith("0")).length).to.be.greaterThan(100);
      const id = newVerificationId();
      expect(id).to.match(VERIFICATION_ID);
      expect(newVerificationId()).to.not.equal(id);
    });

    it("then the stored hash depends on the server secret and the verification, so it cannot be looked up", () => {
      const key = codeHashKey("server-secret-0123456789");
      const id = newVerificationId();
      const hash = hashCode(key, id, "123456");
      expect(hash).to.equal(hashCode(codeHashKey("server-secret-0123456789"), id, "123456"));
      expect(hash).to.not.include("123456");
      expect(hashCode(key, id, "123457")).to.not.equal(hash);
      expect(hashCode(key, newVerificationId(), "123456")).to.not.equal(hash);
      expect(hashCode(codeHashKey("another-secret-0123456789"), id, "123456")).to.not.equal(hash);
    });
  });

  describe("TwiML", () => {
    const action = "https://voice.example.com/forwarding_verification/" + "a".repeat(32) + "?x=1&y=2";

    it("then the prompt gathers six digits posted to the action URL (escaped), and says goodbye when nothing is typed", () => {
      const xml = promptTwiml(action);
      expect(xml).to.include("&amp;y=2");
      const doc = parse(xml).Response;
      expect(doc.Gather).to.deep.include({ "@numDigits": "6", "@action": action, "@method": "POST" });
      expect(doc.Gather!.Say).to.include("Enter your Call24x7 verification code");
      expect(doc.Say).to.include("Goodbye");
      expect(doc).to.have.property("Hangup");
    });

    it("then a retry names the tries left; an ending says why and hangs up without a Gather", () => {
      expect(parse(retryTwiml(action, 3)).Response.Gather!.Say).to.include("3 tries left");
      expect(parse(retryTwiml(action, 1)).Response.Gather!.Say).to.include("one try left");
      for (const [ending, words] of [
        ["verified", "now verified"],
        ["locked", "too many times"],
        ["expired", "expired"],
        ["conflict", "another Call24x7 account"],
        ["invalid", "no longer valid"],
      ] as const) {
        const doc = parse(endTwiml(ending)).Response;
        expect(doc.Gather, ending).to.equal(undefined);
        expect(doc.Say, ending).to.include(words);
        expect(doc, ending).to.have.property("Hangup");
      }
    });
  });

  describe("config", () => {
    const base = { MONGODB_URI: "mongodb://x/y", REDIS_URL: "redis://x" };

    it("then the caller ID is optional, must be E.164, and the Twilio REST base defaults to Twilio's", () => {
      expect(loadApiConfig(base)).to.deep.include({ twilioVerificationCallerId: undefined, twilioApiBaseUrl: "https://api.twilio.com" });
      expect(loadApiConfig({ ...base, TWILIO_VERIFICATION_CALLER_ID: "+14155550001" }).twilioVerificationCallerId).to.equal("+14155550001");
      expect(() => loadApiConfig({ ...base, TWILIO_VERIFICATION_CALLER_ID: "415-555-0001" })).to.throw(/TWILIO_VERIFICATION_CALLER_ID/);
      expect(() => loadApiConfig({ ...base, TWILIO_API_BASE_URL: "ftp://x" })).to.throw(/TWILIO_API_BASE_URL/);
    });
  });
});
