import { expect } from "chai";
import { GraphQLError, locatedError } from "graphql";
import { ForbiddenError } from "../../api/graphql/errors.js";
import { formatError } from "../../api/graphql/plugins.js";
import { InsufficientBalanceError } from "../../schema/infra/errors.js";

/** What Apollo passes formatError: the error as JSON (code INTERNAL_SERVER_ERROR when it has none) and the error. */
function format(error: GraphQLError) {
  const json = error.toJSON();
  return formatError({ ...json, extensions: { code: "INTERNAL_SERVER_ERROR", ...json.extensions } }, error);
}

describe("GraphQL error formatting", () => {
  const cause = new Error("Operation `apikeys.findOne()` buffering timed out after 10000ms");

  it("when a resolver throws a plain error, then clients get INTERNAL_ERROR with the path and a generic message", () => {
    expect(format(locatedError(cause, undefined, ["accounts"]))).to.deep.equal({
      message: "Internal error",
      path: ["accounts"],
      extensions: { code: "INTERNAL_ERROR" },
    });
  });

  it("when Apollo wraps a plain error without a path (the context function, a plugin hook), then clients get INTERNAL_ERROR and not its message", () => {
    const wrapped = new GraphQLError(`Context creation failed: ${cause.message}`, { originalError: cause });
    expect(format(wrapped)).to.deep.equal({ message: "Internal error", extensions: { code: "INTERNAL_ERROR" } });
  });

  it("when the error is one of ours or graphql's, then it is shown as it is, also with a plain error under a code", () => {
    expect(format(locatedError(new ForbiddenError("Only admin keys"), undefined, ["x"]))).to.deep.include({
      message: "Only admin keys",
      extensions: { code: "FORBIDDEN" },
    });
    const coercion = new GraphQLError('Variable "$n" got invalid value', {
      originalError: new TypeError("not a number"),
      extensions: { code: "BAD_USER_INPUT" },
    });
    expect(format(coercion)).to.deep.include({ message: 'Variable "$n" got invalid value', extensions: { code: "BAD_USER_INPUT" } });
  });

  it("when a resolver throws an AppError, then its code and message are shown", () => {
    expect(format(locatedError(new InsufficientBalanceError(), undefined, ["debitBalance"]))).to.deep.equal({
      message: "Insufficient balance to accept the call",
      path: ["debitBalance"],
      extensions: { code: "INSUFFICIENT_BALANCE" },
    });
  });
});
