import { registerEnumType } from "type-graphql";

/**
 * A GraphQL enum whose values are the model's stored strings: "in-progress" becomes IN_PROGRESS.
 * Built from the model's list so a status added there cannot be stored yet fail to serialize here.
 */
export function modelEnum<const T extends readonly string[]>(name: string, values: T, description: string): Record<string, T[number]> {
  const enumObject = Object.fromEntries(values.map((v) => [v.toUpperCase().replace(/[^A-Z0-9]+/g, "_"), v])) as Record<string, T[number]>;
  registerEnumType(enumObject, { name, description });
  return enumObject;
}
