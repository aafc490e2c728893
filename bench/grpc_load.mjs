// A gRPC load generator in another language (Node.js, @grpc/grpc-js), so that
// the client's cost does not land on the Python process being measured.
//
//   node bench/grpc_load.mjs --target 127.0.0.1:50051 --request '{"tool": ...}'
//        [--api-key KEY] [--calls 3000] [--concurrency 1] [--method Route]
//
// Loads proto/ with @grpc/proto-loader (no generated JavaScript), makes
// `--calls` calls with `--concurrency` in flight on one channel after a
// warm-up, and prints one JSON line: p50/p99 in ms, calls per second, errors.
import { coordinatorClient, fromJson, grpc, unary } from "../tests/support/coordinator_client.mjs";

function parseArgs(argv) {
  const options = {
    target: "127.0.0.1:50051",
    request: "{}",
    apiKey: "",
    calls: 3000,
    concurrency: 1,
    warmup: 300,
    method: "Route",
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "").replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (!(name in options)) throw new Error(`unknown option ${argv[i]}`);
    options[name] = typeof options[name] === "number" ? Number(argv[i + 1]) : argv[i + 1];
  }
  return options;
}

function percentile(sorted, fraction) {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const client = coordinatorClient(options.target);
  const metadata = new grpc.Metadata();
  if (options.apiKey) metadata.set("x-api-key", options.apiKey);
  const request = fromJson(JSON.parse(options.request));
  const call = () => unary(client, options.method, request, metadata);

  for (let i = 0; i < options.warmup; i++) await call();
  const latencies = [];
  let remaining = options.calls;
  let errors = 0;
  let lastResponse = null;
  const worker = async () => {
    while (remaining > 0) {
      remaining--;
      const started = process.hrtime.bigint();
      try {
        lastResponse = await call();
      } catch (error) {
        errors++;
      }
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  client.close();
  console.log(
    JSON.stringify({
      calls: options.calls,
      concurrency: options.concurrency,
      p50_ms: percentile(latencies, 0.5),
      p99_ms: percentile(latencies, 0.99),
      calls_per_second: options.calls / seconds,
      errors,
      cached: lastResponse?.routing?.cached ?? null,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
