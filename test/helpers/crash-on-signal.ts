// Preloaded (node --import) into a real worker process by the crash test: SIGUSR2 makes the
// process reject a promise nobody handles, the kind of bug the worker's fatal-error handler is for.
process.on("SIGUSR2", () => {
  void Promise.reject(new Error("injected fault: a promise nobody handles"));
});
export {};
