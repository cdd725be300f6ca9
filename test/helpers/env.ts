/** Where the test run's real services are; scripts/test.mjs sets these. */
export function testEnv(): { mongodbUri: string; redisUrl: string } {
  const mongodbUri = process.env.MONGODB_URI;
  const redisUrl = process.env.REDIS_URL;
  if (!mongodbUri || !redisUrl) throw new Error("MONGODB_URI and REDIS_URL must be set: run the tests with `npm test`");
  return { mongodbUri, redisUrl };
}
