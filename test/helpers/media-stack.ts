import { startTestApp, TEST_AUTH_TOKEN, type TestApp } from "./app.js";
import { FakeTwilioRest } from "./fake-twilio.js";
import { startTestMedia, type TestMedia } from "./media.js";

/** The fake Twilio REST server, the web app and one worker, as a suite shares them. */
export interface MediaStack {
  twilioRest: FakeTwilioRest;
  t: TestApp;
  media: TestMedia;
}

/**
 * Registers mocha hooks that start the stack before the suite and stop it after; the fields are
 * filled once `before` has run. `workerEnv` goes to the worker's configuration.
 */
export function useMediaStack(workerEnv: Record<string, string> = {}): MediaStack {
  const stack = {} as MediaStack;
  before(async () => {
    stack.twilioRest = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    stack.t = await startTestApp();
    stack.media = await startTestMedia(stack.twilioRest.url, workerEnv);
  });
  after(async () => {
    await stack.media?.close();
    await stack.t?.close();
    await stack.twilioRest?.close();
  });
  return stack;
}
