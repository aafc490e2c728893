// A client in another language: Node.js with @grpc/grpc-js, loading the .proto
// at run time with @grpc/proto-loader (no generated JavaScript).
//
//   node tests/e2e/node_client.mjs <host:port> <api-key>
//
// Makes a fixed sequence of calls to the coordinator and prints one JSON object
// with the plain results on stdout. Expected errors are part of that object;
// anything unexpected (a call that should fail succeeding, a non-gRPC error)
// makes the script exit non-zero.
import { coordinatorClient, fromValue, grpc, toStruct, unary as call } from "../support/coordinator_client.mjs";

// Runs a call that must fail with a gRPC status and returns that status.
async function expectError(client, method, request, metadata) {
  let response;
  try {
    response = await call(client, method, request, metadata);
  } catch (error) {
    if (typeof error?.code !== "number") throw error;
    return { code: error.code, details: error.details };
  }
  throw new Error(`${method} unexpectedly succeeded: ${JSON.stringify(response)}`);
}

async function main() {
  const [address, apiKey] = process.argv.slice(2);
  if (!address || !apiKey) throw new Error("usage: node_client.mjs <host:port> <api-key>");
  const client = coordinatorClient(address);
  const auth = new grpc.Metadata();
  auth.set("x-api-key", apiKey);
  try {
    const health = await call(client, "Health", {});

    const record = await call(
      client,
      "Route",
      { tool: "get_record", arguments: toStruct({ model: "hr.expense", record_id: 1 }) },
      auth,
    );

    const routed = await call(
      client,
      "Route",
      { query: "List expenses", context: toStruct({ "finance-ssc": true }) },
      auth,
    );

    const noKey = await expectError(client, "Route", { query: "List expenses" });
    const empty = await expectError(client, "Route", {}, auth);

    const result = {
      health: { status: health.status, targets: health.targets },
      tool_call: {
        target: record.routing.target,
        rule: record.routing.rule,
        cached: record.routing.cached,
        data: fromValue(record.data),
      },
      context_query: {
        target: routed.routing.target,
        rule: routed.routing.rule,
        reason: routed.routing.reason,
      },
      no_key: noKey,
      empty_request: empty,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    client.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
