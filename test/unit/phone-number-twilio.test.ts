import { expect } from "chai";
import { localSearch } from "../../api/phone-numbers/available-search.js";
import { clearOurs, numberWebhooks, pointAtUs } from "../../api/phone-numbers/number-webhooks.js";
import { parseAvailable, parseIncoming, type IncomingNumber } from "../../api/phone-numbers/twilio-numbers.client.js";

describe("phone numbers at Twilio: pure parts", () => {
  const ours = numberWebhooks("https://voice.example.com");

  describe("when search inputs are checked", () => {
    it("then a lower-case country is upper-cased and the filters pass through", () => {
      expect(localSearch({ country: " ca ", areaCode: 604, contains: "55*1" })).to.deep.equal({
        country: "CA",
        search: { pageSize: 20, areaCode: 604, contains: "55*1" },
      });
      expect(localSearch({ country: "GB", areaCode: null, contains: null })).to.deep.equal({ country: "GB", search: { pageSize: 20 } });
    });

    it("then groupings that are no country are refused", () => {
      for (const country of ["EU", "UN", "ZZ", "UK"]) expect(() => localSearch({ country }), country).to.throw(/^country /);
    });

    it("then area codes below 200 are refused (no North American area code starts with 0 or 1)", () => {
      expect(() => localSearch({ country: "US", areaCode: 199 })).to.throw(/^areaCode /);
      expect(() => localSearch({ country: "US", areaCode: 1000 })).to.throw(/^areaCode /);
    });
  });

  describe("when Twilio's JSON is read", () => {
    it("then capabilities are read in Twilio's capitals (SMS, MMS) and in lower case", () => {
      const upper = parseAvailable({ phone_number: "+14155550100", capabilities: { voice: true, SMS: true, MMS: false } });
      const lower = parseAvailable({ phone_number: "+14155550100", capabilities: { voice: false, sms: false, mms: true } });
      expect(upper?.capabilities).to.deep.equal({ voice: true, sms: true, mms: false });
      expect(lower?.capabilities).to.deep.equal({ voice: false, sms: false, mms: true });
    });

    it("then missing names and places read as the number and null, and entries without a number are dropped", () => {
      expect(parseAvailable({ phone_number: "+442071838750", iso_country: "GB", locality: "", region: null })).to.deep.equal({
        e164: "+442071838750",
        friendlyName: "+442071838750",
        locality: null,
        region: null,
        isoCountry: "GB",
        capabilities: { voice: false, sms: false, mms: false },
      });
      expect(parseAvailable({ friendly_name: "x" })).to.equal(null);
      expect(parseIncoming({ sid: 5, phone_number: "+1" })).to.equal(null);
    });

    it("then null URLs on a number read as empty", () => {
      const sid = `PN${"a".repeat(32)}`;
      expect(
        parseIncoming({
          sid,
          phone_number: "+14155550100",
          voice_url: null,
          voice_fallback_url: null,
          status_callback: "",
          voice_application_sid: null,
        }),
      ).to.deep.equal({
        sid,
        e164: "+14155550100",
        voiceUrl: "",
        voiceFallbackUrl: "",
        statusCallback: "",
        voiceApplicationSid: "",
      });
    });
  });

  describe("when a number is pointed at us or released", () => {
    const number = (patch: Partial<IncomingNumber>): IncomingNumber => ({
      sid: `PN${"b".repeat(32)}`,
      e164: "+14155550100",
      voiceUrl: ours.voiceUrl,
      voiceFallbackUrl: ours.voiceFallbackUrl,
      statusCallback: ours.statusCallback,
      voiceApplicationSid: "",
      ...patch,
    });

    it("then the three URLs go to our routes, POST, and a voice application is removed only when set", () => {
      expect(pointAtUs(ours)).to.deep.equal({
        VoiceUrl: "https://voice.example.com/inbound_call",
        VoiceMethod: "POST",
        VoiceFallbackUrl: "https://voice.example.com/fallback",
        VoiceFallbackMethod: "POST",
        StatusCallback: "https://voice.example.com/call_status",
        StatusCallbackMethod: "POST",
      });
      expect(pointAtUs(ours, number({ voiceApplicationSid: `AP${"c".repeat(32)}` })).VoiceApplicationSid).to.equal("");
      expect(pointAtUs(ours, number({}))).to.not.have.property("VoiceApplicationSid");
    });

    it("then only URLs that are still ours are cleared", () => {
      expect(clearOurs(ours, number({}))).to.deep.equal({ VoiceUrl: "", VoiceFallbackUrl: "", StatusCallback: "" });
      expect(clearOurs(ours, number({ voiceUrl: "https://else.example/v", statusCallback: "" }))).to.deep.equal({ VoiceFallbackUrl: "" });
      expect(clearOurs(ours, number({ voiceUrl: "", voiceFallbackUrl: "", statusCallback: "" }))).to.deep.equal({});
    });
  });
});
