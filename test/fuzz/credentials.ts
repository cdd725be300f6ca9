// How a hostile webhook presents itself: no credentials, forged or replayed Twilio signatures,
// keys that are wrong, revoked or another account's, or good credentials (which then need a
// defect in the request to be refused).
import fc from "fast-check";
import type { FuzzContext } from "./context.js";
import { headerSafe, hostileString } from "./hostile.js";
import { bodyOf, pathOf, sign, type Draft } from "./form.js";

export interface CredentialPlan {
  label: string;
  /** True when the credential is good: the request must then carry a defect. */
  good: boolean;
  /** True when a valid-looking signature is involved, so the guarantee must check it does not validate. */
  signed: boolean;
  /** Headers for the final request; `genuine` is the request before any change (what a replay signs). */
  headers(final: Draft, genuine: Draft): Record<string, string>;
}

const plan = (label: string, good: boolean, signed: boolean, headers: CredentialPlan["headers"]): CredentialPlan => ({
  label,
  good,
  signed,
  headers,
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** URLs a genuine signature may have been computed over, other than the request's own. */
function otherUrls(ctx: FuzzContext, path: string): string[] {
  const base = ctx.publicBaseUrl;
  const u = new URL(base);
  const otherRoute = path.startsWith("/inbound_call")
    ? path.replace("/inbound_call", "/call_status")
    : path.replace("/call_status", "/inbound_call");
  return [
    base + otherRoute,
    base.replace(/^http:/, "https:") + path,
    `${u.protocol}//${u.hostname}:1${u.port}${path}`,
    `${base}${path}${path.includes("?") ? "&" : "?"}agent_id=000000000000000000000000`,
    `${base}${path}/`,
    `https://evil.example.com${path}`,
  ];
}

export interface DoorPolicy {
  /**
   * True when the door takes account keys (/inbound_call). /call_status moves bills and takes
   * only Twilio's signature or the admin key: there the account's own key is a bad credential
   * (FORBIDDEN), so it is sent on requests that are otherwise valid.
   */
  accountKeys: boolean;
}

/**
 * Every credential plan for a webhook. `owner` is the account whose data the request targets
 * (null when none): the key of the other account is refused by tenancy, or by the door.
 */
export function credentialPlans(ctx: FuzzContext, owner: number | null, door: DoorPolicy): fc.Arbitrary<CredentialPlan> {
  const url = (d: Draft) => ctx.publicBaseUrl + pathOf(d);
  const sig = (s: string) => ({ "x-twilio-signature": s });
  const other = owner === null ? ctx.accounts[0]! : ctx.accounts[1 - owner]!;
  const own = owner === null ? null : ctx.accounts[owner]!;
  const plans: fc.Arbitrary<CredentialPlan>[] = [
    fc.constant(plan("none", false, false, () => ({}))),
    fc
      .oneof(fc.base64String({ minLength: 28, maxLength: 28 }), hostileString({ maxHuge: 2048 }).map(headerSafe), fc.constant(""))
      .map((s) => plan("forged-signature", false, true, () => sig(s))),
    fc
      .string({ minLength: 1, maxLength: 40 })
      .map((token) => plan("wrong-auth-token", false, true, (d) => sig(sign(token, url(d), bodyOf(d))))),
    fc.constant(plan("replayed-signature-other-body", false, true, (_d, g) => sig(sign(ctx.authToken, url(g), bodyOf(g))))),
    fc.nat().map((i) =>
      plan("replayed-signature-other-url", false, true, (d) => {
        const urls = otherUrls(ctx, pathOf(d));
        return sig(sign(ctx.authToken, urls[i % urls.length]!, bodyOf(d)));
      }),
    ),
    fc
      .oneof(
        hostileString({ maxHuge: 600 }).map((s) => `Bearer ${headerSafe(s)}`),
        fc.constantFrom("Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer a b", `Bearer ${"k".repeat(513)}`),
      )
      .map((h) => plan("garbage-authorization", false, false, () => ({ authorization: h }))),
    fc.constant(plan("revoked-key", false, false, () => bearer(ctx.revokedKey))),
    fc
      .oneof(
        fc.constant(ctx.adminKey.slice(0, -1)),
        fc.constant(`${ctx.adminKey}x`),
        fc.constant(ctx.adminKey.toUpperCase()),
        fc.constant(` ${ctx.adminKey}0`),
      )
      .filter((k) => k.trim() !== ctx.adminKey)
      .map((k) => plan("altered-admin-key", false, false, () => bearer(k))),
    // A wrong Authorization wins over a good signature: present credentials are never ignored.
    fc.constant(
      plan("good-signature-with-wrong-key", false, false, (d) => ({
        ...sig(sign(ctx.authToken, url(d), bodyOf(d))),
        ...bearer("c247_not-a-key"),
      })),
    ),
    fc.constant(plan("other-account-key", false, false, () => bearer(other.key))),
    fc.constant(plan("good-signature", true, false, (d) => sig(sign(ctx.authToken, url(d), bodyOf(d))))),
    fc.constant(plan("admin-key", true, false, () => bearer(ctx.adminKey))),
  ];
  if (own) plans.push(fc.constant(plan("own-account-key", door.accountKeys, false, () => bearer(own.key))));
  return fc.oneof(...plans);
}
