// Runs openLoop in a worker thread, so the load generator does not share the event loop of an
// app running in the same process. workerData: { url, rate, seconds, request }, where request
// is one fixed { method, path, headers, body }; posts openLoop's result back.
import { parentPort, workerData } from "node:worker_threads";
import { openLoop } from "./open-loop.mjs";

const { url, rate, seconds, request } = workerData;
parentPort.postMessage(await openLoop({ url, rate, seconds, makeRequest: () => request }));
