import { BadUserInputError } from "../graphql/errors.js";
import { intRange } from "../graphql/validate.js";
import type { LocalSearch } from "./twilio-numbers.client.js";

/** Numbers one search returns at most. */
export const SEARCH_PAGE_SIZE = 20;

// ICU knows the ISO 3166 regions (an unknown code comes back unchanged), and a few groupings
// and placeholders that are no country.
const regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });
const NOT_COUNTRIES = new Set(["EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "UK"]);
// Twilio accepts an area code for US and Canadian numbers only.
const AREA_CODE_COUNTRIES = new Set(["US", "CA"]);
// A subset of Twilio's Contains syntax: digits, letters (keypad) and the one-digit wildcard.
const CONTAINS = /^[0-9A-Za-z*]{2,16}$/;

/** The checked inputs of availablePhoneNumbers, in the form Twilio's Local search takes them. */
export function localSearch(args: { country: string; areaCode?: number | null; contains?: string | null }): {
  country: string;
  search: LocalSearch;
} {
  const country = args.country.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country) || NOT_COUNTRIES.has(country) || regionNames.of(country) === country) {
    throw new BadUserInputError("country", `must be an ISO 3166-1 alpha-2 country code like "US", got "${args.country.slice(0, 8)}"`);
  }
  const search: LocalSearch = { pageSize: SEARCH_PAGE_SIZE };
  if (args.areaCode != null) {
    if (!AREA_CODE_COUNTRIES.has(country)) throw new BadUserInputError("areaCode", "applies to US and CA numbers only");
    search.areaCode = intRange("areaCode", args.areaCode, 200, 999);
  }
  if (args.contains != null) {
    const contains = args.contains.trim();
    if (!CONTAINS.test(contains)) throw new BadUserInputError("contains", "must be 2 to 16 digits, letters or *");
    // Twilio wants at least two characters besides wildcards.
    if (contains.replace(/\*/g, "").length < 2) throw new BadUserInputError("contains", "must have at least 2 digits or letters besides *");
    search.contains = contains;
  }
  return { country, search };
}
