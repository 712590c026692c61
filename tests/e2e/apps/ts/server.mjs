// An app built with the official `inngest` TypeScript SDK from npm, unchanged.
//
// It reaches Headrace the way it would reach Inngest's dev server: INNGEST_DEV=<headrace url>
// (dev mode, no keys). INNGEST_SERVE_ORIGIN, when set, is the origin the SDK registers, so
// Headrace calls back exactly that. Start it with `PORT=3000 node server.mjs`.
import http from "node:http";

import { Inngest } from "inngest";
import { serve } from "inngest/node";

const inngest = new Inngest({ id: "official-ts" });

const twoStepsSleep = inngest.createFunction(
  { id: "two-steps-sleep", retries: 2, triggers: [{ event: "official/start" }] },
  async ({ event, step }) => {
    const r1 = await step.run("first", () => ({ a: 1 }));
    const r2 = await step.run("second", () => "hello " + event.data.who);
    await step.sleep("nap", "1s");
    return { r1, r2 };
  },
);

const handler = serve({ client: inngest, functions: [twoStepsSleep] });

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (path === "/api/inngest") {
    return handler(req, res);
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
});

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";
server.listen(port, host, () => {
  console.log(`official-ts listening on http://${host}:${port}/api/inngest`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
