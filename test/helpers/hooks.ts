// Mocha root hooks: one database connection for the whole run, indexes in place before tests.
import "reflect-metadata";
import { connectDatabase, disconnectDatabase, syncIndexes } from "../../schema/infra/db.js";
import { testEnv } from "./env.js";

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    // Command events let tests count database round trips (test/helpers/db-commands.ts).
    await connectDatabase(testEnv().mongodbUri, { monitorCommands: true });
    await syncIndexes();
  },
  async afterAll() {
    await disconnectDatabase();
  },
};
