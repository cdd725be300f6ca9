import { createParameterDecorator, type ParameterDecorator } from "type-graphql";
import type { GraphqlContext, Viewer } from "./context.js";
import { UnauthenticatedError } from "./errors.js";

/** A resolver's parameter: the authenticated caller and the request's loaders, as services take them. */
export function CurrentViewer(): ParameterDecorator {
  return createParameterDecorator<GraphqlContext>(({ context }): Viewer => {
    // The guard plugin already refused such requests; this keeps resolvers safe on their own.
    if (!context.principal) throw new UnauthenticatedError();
    return { principal: context.principal, loaders: context.loaders };
  });
}
