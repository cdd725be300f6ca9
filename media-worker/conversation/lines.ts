/** What the agent says when the worker, not the conversation, decides (English for now). */
export const LINES = {
  silenceReminder: "Are you still there?",
  silenceGoodbye: "It seems you are not there. Goodbye!",
  endCallGoodbye: "Thank you for calling. Goodbye!",
  maxDurationGoodbye: "We have reached the time limit for this call. Goodbye!",
  insufficientBalanceGoodbye: "Sorry, this call has to end now. Goodbye!",
} as const;
