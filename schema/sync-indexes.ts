// The `release` process: create the indexes declared in the schemas before new code serves.
import { connectDatabase, disconnectDatabase, syncIndexes } from "./infra/db.js";

const uri = process.env.MONGODB_URI;
if (!uri) {
  console.error("MONGODB_URI is required for the release step");
  process.exit(1);
}
await connectDatabase(uri);
await syncIndexes();
await disconnectDatabase();
console.log("indexes synced");
