import type { ContainerType } from "type-graphql";

/** Hands type-graphql the resolver instances built with their services (constructor injection). */
export class InstanceContainer implements ContainerType {
  private readonly instances = new Map<unknown, object>();

  constructor(instances: object[]) {
    for (const instance of instances) this.instances.set(instance.constructor, instance);
  }

  get(someClass: { name?: string }): object {
    const instance = this.instances.get(someClass);
    if (!instance) throw new Error(`No instance registered for ${someClass.name ?? "a class"}`);
    return instance;
  }
}
