// `npm run services`: start FerretDB and Redis for development and print their URLs.
import { startServices } from "./lib/services.mjs";

const svc = await startServices({ name: "dev", persistent: true });
console.log(`MONGODB_URI=${svc.mongodbUri}`);
console.log(`REDIS_URL=${svc.redisUrl}`);
console.log("Services are up; Ctrl-C stops them.");
const shutdown = () => svc.stop().then(() => process.exit(0));
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
