// A TypeScript client of the coordinator built on the generated package
// (@mcp-coordinator/client, from gen/ts) and @connectrpc/connect-node over the
// gRPC protocol. CI runs it against a real coordinator (tests/e2e/test_generated_clients.py):
//
//   node --preserve-symlinks tools/clients/coordinator-client.mts <host:port> <api-key>
//
// Prints one JSON object with what each call returned; an expected error is part
// of that object, anything unexpected exits non-zero.
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "@mcp-coordinator/client";

type Failure = { code: string; message: string };

// Runs a call that must fail and returns its status code name and message.
async function expectFailure(call: () => Promise<unknown>): Promise<Failure> {
  try {
    const response = await call();
    throw new Error(`call unexpectedly succeeded: ${JSON.stringify(response)}`);
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    return { code: Code[error.code], message: error.rawMessage };
  }
}

async function main(): Promise<void> {
  const [address, apiKey] = process.argv.slice(2);
  if (!address || !apiKey) throw new Error("usage: coordinator-client.mts <host:port> <api-key>");
  const transport = createGrpcTransport({ baseUrl: `http://${address}` });
  const client = createClient(CoordinatorService, transport);
  const auth = { headers: { "x-api-key": apiKey } };

  const health = await client.health({});
  const routed = await client.route(
    { query: "List expenses", context: { "finance-ssc": true } },
    auth,
  );
  const noKey = await expectFailure(() => client.route({ query: "List expenses" }));
  const empty = await expectFailure(() => client.route({}, auth));

  const result = {
    health: { status: health.status, targets: health.targets },
    finance_route: {
      target: routed.routing?.target,
      rule: routed.routing?.rule,
      environment: answerEnvironment(routed.data),
    },
    no_key: noKey,
    empty_request: empty,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// The MCP result is a google.protobuf.Value; the sample servers name their
// environment in its structured content.
function answerEnvironment(data: Value | undefined): JsonValue | undefined {
  if (data === undefined) return undefined;
  const result = toJson(ValueSchema, data) as { structuredContent?: Record<string, JsonValue> };
  return result.structuredContent?.environment;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
